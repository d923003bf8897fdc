// The cache-line size that keeps hot atomics apart.
#pragma once

#include <cstddef>

#include "platform.hpp"

namespace bq::detail {

/// Assumed cache-line size. 64 on the x86-64 and most ARM cores bq targets;
/// std::hardware_destructive_interference_size is avoided because its value
/// may differ between translation units (GCC warns about exactly that).
inline constexpr std::size_t kCacheLine = 64;

}  // namespace bq::detail
