#pragma once
// Numbers in error messages.

#include <cstdio>
#include <string>

namespace continuo::detail {

/// Returns `value` in %g's short form, which, unlike std::to_string, keeps 1e-09 apart from 0 and
/// writes nan and inf as such.
inline std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace continuo::detail
