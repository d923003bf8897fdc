// Comparison row: moodycamel::BlockingConcurrentQueue (Debian libconcurrentqueue-dev).
// The queue is unbounded; bounded at 1024 here by preallocating that much and enqueuing only
// with try_enqueue (which never allocates), spinning while it fails. Dequeue parks natively.
#include <concurrentqueue/blockingconcurrentqueue.h>

#include "common.hpp"

namespace bq_bench {
namespace {

class BlockingConcurrentQueueAdapter {
 public:
  static constexpr bool kMultiProducer = true;
  static constexpr std::string_view kPushWait = kSpinYield;
  static constexpr std::string_view kPopWait = kParks;

  explicit BlockingConcurrentQueueAdapter(std::size_t capacity) : queue_(capacity) {}
  void push(std::uint64_t item) {
    spin_until([&] { return queue_.try_enqueue(item); });
  }
  std::uint64_t pop() {
    std::uint64_t item = 0;
    queue_.wait_dequeue(item);
    return item;
  }
  bool try_push(std::uint64_t item) { return queue_.try_enqueue(item); }
  bool try_pop(std::uint64_t& item) { return queue_.try_dequeue(item); }

 private:
  moodycamel::BlockingConcurrentQueue<std::uint64_t> queue_;
};

/// The batch row: moodycamel::ConcurrentQueue (not the blocking wrapper), bounded at 1024
/// by preallocating that much and enqueuing with try_enqueue_bulk (which never allocates
/// and queues all or nothing), spinning while it fails; try_dequeue_bulk, spinning while it
/// returns 0. No producer or consumer tokens (the plain enqueue_bulk/try_dequeue_bulk API).
class ConcurrentQueueBulkAdapter {
 public:
  explicit ConcurrentQueueBulkAdapter(std::size_t capacity) : queue_(capacity) {}
  void push_batch(const std::uint64_t* items, std::size_t n) {
    spin_until([&] { return queue_.try_enqueue_bulk(items, n); });
  }
  std::size_t pop_batch(std::uint64_t* out, std::size_t max) {
    std::size_t popped = 0;
    spin_until([&] { return (popped = queue_.try_dequeue_bulk(out, max)) != 0; });
    return popped;
  }

 private:
  moodycamel::ConcurrentQueue<std::uint64_t> queue_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:mc_blockingconcurrentqueue",
                              "moodycamel BlockingConcurrentQueue (try_enqueue, wait_dequeue)");
  register_queue<BlockingConcurrentQueueAdapter>("mc_blockingconcurrentqueue");
  benchmark::AddCustomContext("queue:mc_concurrentqueue",
                              "moodycamel ConcurrentQueue (try_enqueue_bulk, try_dequeue_bulk)");
  register_batch<ConcurrentQueueBulkAdapter>("mc_concurrentqueue");
  return true;
}();

}  // namespace
}  // namespace bq_bench
