// What differs between compilers, CPUs and build modes, in one place: inlining
// control, ThreadSanitizer detection, exceptions on or off, the spin-wait hint,
// and MSVC's padding warning. Every other header includes this one instead of
// testing compiler macros itself.
#pragma once

#include <cstdio>
#include <cstdlib>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

// BQ_ALWAYS_INLINE forces inlining of the few small functions on the push/pop
// fast path, where GCC's heuristics otherwise outline them once a caller grows;
// BQ_NOINLINE keeps the waiting and overflow paths out of the callers.
#if defined(_MSC_VER) && !defined(__clang__)
#define BQ_ALWAYS_INLINE __forceinline
#define BQ_NOINLINE __declspec(noinline)
#elif defined(__GNUC__) || defined(__clang__)
#define BQ_ALWAYS_INLINE [[gnu::always_inline]] inline
#define BQ_NOINLINE [[gnu::noinline]]
#else
#define BQ_ALWAYS_INLINE inline
#define BQ_NOINLINE
#endif

// BQ_TSAN is 1 under ThreadSanitizer, which does not model every primitive bq
// uses (membarrier): those paths then use ones it understands.
#if defined(__SANITIZE_THREAD__)
#define BQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BQ_TSAN 1
#endif
#endif
#ifndef BQ_TSAN
#define BQ_TSAN 0
#endif

// Exceptions. Built with -fno-exceptions (or /EHs-c- on MSVC), bq compiles too:
// what would throw (a ConfigError, an invalid capacity) prints its message on
// stderr and calls std::abort(), the way nlohmann::json's JSON_NOEXCEPTION does,
// and the try/catch blocks that clean up after a throwing item constructor
// disappear (nothing can throw). The mode follows the compiler's flag only: in
// a build with exceptions an item constructor may throw, and those blocks are
// what keeps the queue consistent when it does.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define BQ_TRY try
#define BQ_CATCH(declaration) catch (declaration)
#define BQ_RETHROW throw
#else
#define BQ_NO_EXCEPTIONS_MODE 1
#define BQ_TRY if (true)
#define BQ_CATCH(declaration) if (false)
#define BQ_RETHROW std::abort()
#endif

// MSVC warns (C4324, at /W4) that a structure was padded because of alignas:
// that padding is the point of bq's cache-line alignment.
#if defined(_MSC_VER) && !defined(__clang__)
#define BQ_PADDED_BEGIN __pragma(warning(push)) __pragma(warning(disable : 4324))
#define BQ_PADDED_END __pragma(warning(pop))
#else
#define BQ_PADDED_BEGIN
#define BQ_PADDED_END
#endif

namespace bq::detail {

/// Throws `error`, or without exceptions prints its message and aborts.
template <class Error>
[[noreturn]] void throw_or_abort(const Error& error) {
#if defined(BQ_NO_EXCEPTIONS_MODE)
  std::fprintf(stderr, "%s\n", error.what());
  std::abort();
#else
  throw error;
#endif
}

/// Tells the CPU this is a spin-wait loop (frees pipeline resources for the
/// sibling hyper-thread and avoids a memory-order mis-speculation on exit).
inline void cpu_relax() noexcept {
#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(_MSC_VER) && !defined(__clang__) && defined(_M_ARM64)
  __yield();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();  // _mm_pause() without <immintrin.h>, which costs ~0.2 s per TU
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace bq::detail
