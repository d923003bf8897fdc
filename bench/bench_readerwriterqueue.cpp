// Comparison rows: moodycamel's SPSC queues (Debian libreaderwriterqueue-dev).
// ReaderWriterQueue never waits (both sides spin here); BlockingReaderWriterCircularBuffer
// is bounded at exactly its capacity and parks on both sides, with timed waits.
#include <readerwriterqueue/readerwritercircularbuffer.h>
#include <readerwriterqueue/readerwriterqueue.h>

#include "common.hpp"

namespace bq_bench {
namespace {

class ReaderWriterQueueAdapter {
 public:
  static constexpr bool kMultiProducer = false;
  static constexpr std::string_view kPushWait = kSpinYield;
  static constexpr std::string_view kPopWait = kSpinYield;

  // The queue rounds its size up (1024 holds 2044 items; try_push_full reports it).
  explicit ReaderWriterQueueAdapter(std::size_t capacity) : queue_(capacity) {}
  void push(std::uint64_t item) {
    spin_until([&] { return queue_.try_enqueue(item); });
  }
  std::uint64_t pop() {
    std::uint64_t item = 0;
    spin_until([&] { return queue_.try_dequeue(item); });
    return item;
  }
  bool try_push(std::uint64_t item) { return queue_.try_enqueue(item); }
  bool try_pop(std::uint64_t& item) { return queue_.try_dequeue(item); }

 private:
  moodycamel::ReaderWriterQueue<std::uint64_t> queue_;
};

class CircularBufferAdapter {
 public:
  static constexpr bool kMultiProducer = false;
  static constexpr std::string_view kPushWait = kParks;
  static constexpr std::string_view kPopWait = kParks;

  explicit CircularBufferAdapter(std::size_t capacity) : queue_(capacity) {}
  void push(std::uint64_t item) { queue_.wait_enqueue(item); }
  std::uint64_t pop() {
    std::uint64_t item = 0;
    queue_.wait_dequeue(item);
    return item;
  }
  bool try_push(std::uint64_t item) { return queue_.try_enqueue(item); }
  bool try_pop(std::uint64_t& item) { return queue_.try_dequeue(item); }
  bool push_for(std::uint64_t item, std::chrono::microseconds timeout) {
    return queue_.wait_enqueue_timed(item, timeout);
  }

 private:
  moodycamel::BlockingReaderWriterCircularBuffer<std::uint64_t> queue_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:mc_readerwriterqueue",
                              "moodycamel ReaderWriterQueue (SPSC, try_enqueue/try_dequeue)");
  benchmark::AddCustomContext("queue:mc_rwcircularbuffer",
                              "moodycamel BlockingReaderWriterCircularBuffer (SPSC)");
  register_queue<ReaderWriterQueueAdapter>("mc_readerwriterqueue");
  register_queue<CircularBufferAdapter>("mc_rwcircularbuffer");
  return true;
}();

}  // namespace
}  // namespace bq_bench
