// The cache-line size that keeps hot atomics apart.
#pragma once

#include <cstddef>

#include "platform.hpp"

namespace bq::detail {

/// Assumed cache-line size, for the padding between data that different threads
/// write. std::hardware_destructive_interference_size is avoided because its value
/// may differ between translation units (GCC warns about exactly that). Define
/// BQ_CACHE_LINE_SIZE to override it (a power of two, at least 64).
///
/// 128 on Apple's arm64 chips, whose cache lines are 128 bytes (`sysctl
/// hw.cachelinesize`). 64 elsewhere, x86-64 included: padding to 128 against
/// Intel's adjacent-line prefetch was measured on the x86-64 machine bq is
/// developed on and gained nothing (docs/design.md, "Cache-line size").
#if defined(BQ_CACHE_LINE_SIZE)
inline constexpr std::size_t kCacheLine = BQ_CACHE_LINE_SIZE;
static_assert(kCacheLine >= 64 && (kCacheLine & (kCacheLine - 1)) == 0,
              "bq: BQ_CACHE_LINE_SIZE must be a power of two, at least 64");
#elif defined(__APPLE__) && defined(__aarch64__)
inline constexpr std::size_t kCacheLine = 128;
#else
inline constexpr std::size_t kCacheLine = 64;
#endif

}  // namespace bq::detail
