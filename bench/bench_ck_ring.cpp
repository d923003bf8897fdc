// Comparison rows: Concurrency Kit's ck_ring (Debian libck-dev), MPMC and SPSC operations on
// a ring of 1024 slots (it holds 1023). Its operations never wait: blocking push and pop
// spin (emulated), drop-oldest is emulated. Items are stored as pointer-sized values.
#include <cstdint>

// ck_ring.h is C: one function returns `false` as a void*, which C++ rejects. Spelling false
// as 0 while the header is read keeps every ck function inline, as it is for C users.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wkeyword-macro"
#endif
#define false 0
#include <ck_ring.h>
#undef false
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#include "common.hpp"

namespace bq_bench {
namespace {

template <bool kMpmc>
class CkRingAdapter {
 public:
  static constexpr bool kMultiProducer = kMpmc;
  static constexpr std::string_view kPushWait = kSpinYield;
  static constexpr std::string_view kPopWait = kSpinYield;

  explicit CkRingAdapter(std::size_t capacity) : slots_(capacity) {
    ck_ring_init(&ring_, static_cast<unsigned>(capacity));
  }
  void push(std::uint64_t item) {
    spin_until([&] { return try_push(item); });
  }
  std::uint64_t pop() {
    std::uint64_t item = 0;
    spin_until([&] { return try_pop(item); });
    return item;
  }
  bool try_push(std::uint64_t item) {
    const auto* entry = reinterpret_cast<const void*>(static_cast<std::uintptr_t>(item));
    if constexpr (kMpmc) {
      return ck_ring_enqueue_mpmc(&ring_, slots_.data(), entry);
    } else {
      return ck_ring_enqueue_spsc(&ring_, slots_.data(), entry);
    }
  }
  bool try_pop(std::uint64_t& item) {
    void* entry = nullptr;
    bool ok = false;
    if constexpr (kMpmc) {
      ok = ck_ring_dequeue_mpmc(&ring_, slots_.data(), &entry);
    } else {
      ok = ck_ring_dequeue_spsc(&ring_, slots_.data(), &entry);
    }
    if (ok) item = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(entry));
    return ok;
  }

 private:
  alignas(64) ck_ring_t ring_{};
  std::vector<ck_ring_buffer_t> slots_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:ck_ring_mpmc", "Concurrency Kit ck_ring, MPMC operations");
  benchmark::AddCustomContext("queue:ck_ring_spsc", "Concurrency Kit ck_ring, SPSC operations");
  register_queue<CkRingAdapter<true>>("ck_ring_mpmc");
  register_queue<CkRingAdapter<false>>("ck_ring_spsc");
  return true;
}();

}  // namespace
}  // namespace bq_bench
