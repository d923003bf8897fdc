// Cache-line size and a CPU pause hint, for keeping hot atomics apart.
#pragma once

#include <cstddef>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// Forces inlining of the few small functions on the push/pop fast path, where
// GCC's heuristics otherwise outline them once a caller grows.
#if defined(__GNUC__) || defined(__clang__)
#define BQ_DETAIL_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define BQ_DETAIL_ALWAYS_INLINE inline
#endif

namespace bq::detail {

/// Assumed cache-line size. 64 on the x86-64 and most ARM cores bq targets;
/// std::hardware_destructive_interference_size is avoided because its value
/// may differ between translation units (GCC warns about exactly that).
inline constexpr std::size_t kCacheLine = 64;

/// Tells the CPU this is a spin-wait loop (frees pipeline resources for the
/// sibling hyper-thread and avoids a memory-order mis-speculation on exit).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace bq::detail
