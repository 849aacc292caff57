#pragma once
/// \file The library's version.

#define CONTINUO_VERSION_MAJOR 0
#define CONTINUO_VERSION_MINOR 1
#define CONTINUO_VERSION_PATCH 0

namespace continuo {
/// Returns the version as "major.minor.patch".
constexpr const char* version() noexcept { return "0.1.0"; }
}  // namespace continuo
