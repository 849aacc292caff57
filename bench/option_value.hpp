#pragma once
// A command-line option's numeric value, for the programs in bench/: the whole text must be a
// number, and an error names the option and the text (std::stoi alone says only "stoi").

#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace continuo_bench {

/// The value of `option` read from `text` as an int (T = int) or a double (T = double).
template <class T>
T option_value(const std::string& option, const std::string& text) {
  try {
    std::size_t used = 0;
    T value{};
    if constexpr (std::is_same_v<T, int>) {
      value = std::stoi(text, &used);
    } else {
      value = std::stod(text, &used);
    }
    if (used == text.size()) return value;
  } catch (const std::logic_error&) {  // std::invalid_argument, std::out_of_range
  }
  throw std::invalid_argument(option + " takes a number, not '" + text + "'");
}

}  // namespace continuo_bench
