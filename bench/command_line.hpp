#pragma once
// The command lines of the programs in bench/: help and usage, and an option's numeric value (the
// whole text must be a number, and an error names the option and the text; std::stoi alone says
// only "stoi").

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace continuo_bench {

/// How a program whose first argument is a command or a folder ends before reading its options:
/// 0 after printing `usage` to stdout for --help or -h anywhere, 2 after printing it to stderr when
/// that first argument is missing; nullopt when it goes on.
inline std::optional<int> usage_exit(const std::vector<std::string>& args, const char* usage) {
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (args.empty() || args[0].starts_with("-")) {
    std::fputs(usage, stderr);
    return 2;
  }
  return std::nullopt;
}

/// The text after the option args[i], moving i to it; throws std::invalid_argument naming the
/// option when it is the last argument.
inline const std::string& option_text(const std::vector<std::string>& args, std::size_t& i) {
  if (i + 1 >= args.size()) throw std::invalid_argument(args[i] + " needs a value");
  return args[++i];
}

/// The value of `option` read from `text` as an int (T = int), an unsigned 64-bit integer
/// (T = std::uint64_t) or a double (T = double).
template <class T>
T option_value(const std::string& option, const std::string& text) {
  try {
    std::size_t used = 0;
    T value{};
    if constexpr (std::is_same_v<T, int>) {
      value = std::stoi(text, &used);
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
      if (text.starts_with("-")) throw std::invalid_argument(text);  // stoull would wrap it around
      value = std::stoull(text, &used);
    } else {
      value = std::stod(text, &used);
    }
    if (used == text.size()) return value;
  } catch (const std::logic_error&) {  // std::invalid_argument, std::out_of_range
  }
  throw std::invalid_argument(option + " takes a number, not '" + text + "'");
}

}  // namespace continuo_bench
