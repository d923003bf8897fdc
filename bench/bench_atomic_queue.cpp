// Comparison rows: atomic_queue (Debian libatomic-queue-dev). Its push/pop spin until they
// succeed (no parking); try_push/try_pop never wait; no drop-oldest (emulated).
#include <atomic_queue/atomic_queue.h>

#include "common.hpp"

namespace bq_bench {
namespace {

template <class Queue, bool kMpmc>
class AtomicQueueAdapter {
 public:
  static constexpr bool kMultiProducer = kMpmc;
  static constexpr std::string_view kPushWait = kSpins;
  static constexpr std::string_view kPopWait = kSpins;

  explicit AtomicQueueAdapter(std::size_t /*capacity is a template argument*/) {}
  void push(std::uint64_t item) { queue_.push(item); }
  std::uint64_t pop() { return queue_.pop(); }
  bool try_push(std::uint64_t item) { return queue_.try_push(item); }
  bool try_pop(std::uint64_t& item) { return queue_.try_pop(item); }

 private:
  Queue queue_;
};

constexpr unsigned kSize = static_cast<unsigned>(kCapacity);
// Template arguments after the size: (NIL,) MINIMIZE_CONTENTION, MAXIMIZE_THROUGHPUT,
// TOTAL_ORDER, SPSC. The defaults are the library's; the SPSC variants set the last one.
using AqMpmc = atomic_queue::AtomicQueue<std::uint64_t, kSize>;
using Aq2Mpmc = atomic_queue::AtomicQueue2<std::uint64_t, kSize>;
using AqSpsc = atomic_queue::AtomicQueue<std::uint64_t, kSize, 0, true, true, false, true>;
using Aq2Spsc = atomic_queue::AtomicQueue2<std::uint64_t, kSize, true, true, false, true>;

const bool registered = [] {
  benchmark::AddCustomContext("queue:aq_atomicqueue", "atomic_queue AtomicQueue (MPMC) push/pop");
  benchmark::AddCustomContext("queue:aq_atomicqueue2", "atomic_queue AtomicQueue2 (MPMC) push/pop");
  benchmark::AddCustomContext("queue:aq_atomicqueue_spsc",
                              "atomic_queue AtomicQueue SPSC push/pop");
  benchmark::AddCustomContext("queue:aq_atomicqueue2_spsc",
                              "atomic_queue AtomicQueue2 SPSC push/pop");
  register_queue<AtomicQueueAdapter<AqMpmc, true>>("aq_atomicqueue");
  register_queue<AtomicQueueAdapter<Aq2Mpmc, true>>("aq_atomicqueue2");
  register_queue<AtomicQueueAdapter<AqSpsc, false>>("aq_atomicqueue_spsc");
  register_queue<AtomicQueueAdapter<Aq2Spsc, false>>("aq_atomicqueue2_spsc");
  return true;
}();

}  // namespace
}  // namespace bq_bench
