// The bq rows: BoundedQueue<std::uint64_t, Block, Mpmc> and <..., Spsc>, with blocking
// push/pop; drop_oldest_full runs the same concurrency mode with the DropOldest policy.
// verify() checks the queue's own metrics against what the scenario moved.
#include <bq/bounded_queue.hpp>

#include "common.hpp"

namespace bq_bench {
namespace {

template <class Policy, class Concurrency>
class BqAdapter {
 public:
  static constexpr bool kMultiProducer = std::is_same_v<Concurrency, bq::Mpmc>;
  static constexpr std::string_view kPushWait = kParks;
  static constexpr std::string_view kPopWait = kParks;

  explicit BqAdapter(std::size_t capacity) : queue_(capacity) {}

  void push(std::uint64_t item) {
    // Block gives up after config().block_timeout (1 s); a loaded machine may stall that long.
    bq::PushResult result = queue_.push(item);
    while (result == bq::PushResult::timed_out) result = queue_.push(item);
  }
  std::uint64_t pop() { return *queue_.pop(); }
  bool try_push(std::uint64_t item) { return queue_.try_push(item); }
  bool try_pop(std::uint64_t& item) {
    const auto popped = queue_.try_pop();
    if (popped) item = *popped;
    return popped.has_value();
  }
  bool push_for(std::uint64_t item,
                std::chrono::microseconds timeout) requires std::is_same_v<Policy, bq::Block> {
    return queue_.push_for(item, timeout) == bq::PushResult::pushed;
  }
  void push_drop_oldest(std::uint64_t item) requires std::is_same_v<Policy, bq::DropOldest> {
    (void)queue_.push(item);
  }
  std::uint64_t read_metrics() const {
    const bq::QueueMetrics m = queue_.metrics();
    return m.pushed + m.popped + m.high_watermark;
  }
  /// True when the metrics say exactly `transferred + evicted` pushes, `evicted` evictions
  /// and nothing else happened, and the queue is as full as the scenario left it.
  bool verify(std::uint64_t transferred, std::uint64_t evicted) const {
    const bq::QueueMetrics m = queue_.metrics();
    return m.pushed == transferred + evicted && m.popped == transferred &&
           m.dropped_oldest == evicted && m.dropped_newest == 0 && m.timed_out == 0 && m.size == 0;
  }

 private:
  bq::BoundedQueue<std::uint64_t, Policy, Concurrency> queue_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:bq_mpmc",
                              "bq BoundedQueue<Block, Mpmc> (DropOldest for drop-oldest)");
  benchmark::AddCustomContext("queue:bq_spsc",
                              "bq BoundedQueue<Block, Spsc> (DropOldest for drop-oldest)");
  register_queue<BqAdapter<bq::Block, bq::Mpmc>, BqAdapter<bq::DropOldest, bq::Mpmc>>("bq_mpmc");
  register_queue<BqAdapter<bq::Block, bq::Spsc>, BqAdapter<bq::DropOldest, bq::Spsc>>("bq_spsc");
  return true;
}();

}  // namespace
}  // namespace bq_bench
