// The bq rows: BoundedQueue<std::uint64_t, Block, Mpmc> and <..., Spsc>, with blocking
// push/pop; drop_oldest_full runs the same concurrency mode with the DropOldest policy.
// verify() checks the queue's own metrics against what the scenario moved.
#include <bq/bounded_queue.hpp>

#include "common.hpp"

namespace bq_bench {
namespace {

/// The batch rows' range over [first, last): what push_range and try_push_range take.
struct Items {
  const std::uint64_t* first;
  const std::uint64_t* last;
  const std::uint64_t* begin() const { return first; }
  const std::uint64_t* end() const { return last; }
};

template <class Policy, class Concurrency>
class BqAdapter {
 public:
  static constexpr bool kMultiProducer = std::is_same_v<Concurrency, bq::Mpmc>;
  static constexpr std::string_view kPushWait = kParks;
  static constexpr std::string_view kPopWait = kParks;

  explicit BqAdapter(std::size_t capacity) : queue_(capacity) {}

  // The single-item calls are glue (BQ_BENCH_INLINE): bq's own push() and pop() are inline.
  BQ_BENCH_INLINE void push(std::uint64_t item) {
    // Block gives up after config().block_timeout (1 s); a loaded machine may stall that long.
    bq::PushResult result = queue_.push(item);
    while (result == bq::PushResult::timed_out) result = queue_.push(item);
  }
  BQ_BENCH_INLINE std::uint64_t pop() { return *queue_.pop(); }
  void push_batch(const std::uint64_t* items, std::size_t n) {
    // push_range waits up to block_timeout (1 s) under Block: push the rest again after it.
    for (std::size_t done = 0; done < n;) done += queue_.push_range(Items{items + done, items + n});
  }
  std::size_t pop_batch(std::uint64_t* out, std::size_t max) { return queue_.pop_into(out, max); }
  BQ_BENCH_INLINE bool try_push(std::uint64_t item) { return queue_.try_push(item); }
  BQ_BENCH_INLINE bool try_pop(std::uint64_t& item) {
    const auto popped = queue_.try_pop();
    if (popped) item = *popped;
    return popped.has_value();
  }
  bool push_for(std::uint64_t item,
                std::chrono::microseconds timeout) requires std::is_same_v<Policy, bq::Block> {
    return queue_.push_for(item, timeout) == bq::PushResult::pushed;
  }
  BQ_BENCH_INLINE void push_drop_oldest(
      std::uint64_t item) requires std::is_same_v<Policy, bq::DropOldest> {
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

/// The batch rows that wait as the moodycamel batch row does (spinning, then yielding):
/// try_push_range until the whole batch is queued, try_pop_into until it returns items.
/// They compare the rings themselves; the rows above park (push_range, pop_into).
template <class Concurrency>
class BqSpinBatchAdapter {
 public:
  explicit BqSpinBatchAdapter(std::size_t capacity) : queue_(capacity) {}
  void push_batch(const std::uint64_t* items, std::size_t n) {
    std::size_t done = 0;
    spin_until([&] {
      done += queue_.try_push_range(Items{items + done, items + n});
      return done == n;
    });
  }
  std::size_t pop_batch(std::uint64_t* out, std::size_t max) {
    std::size_t popped = 0;
    spin_until([&] { return (popped = queue_.try_pop_into(out, max)) != 0; });
    return popped;
  }

 private:
  bq::BoundedQueue<std::uint64_t, bq::DropNewest, Concurrency> queue_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:bq_mpmc",
                              "bq BoundedQueue<Block, Mpmc> (DropOldest for drop-oldest)");
  benchmark::AddCustomContext("queue:bq_spsc",
                              "bq BoundedQueue<Block, Spsc> (DropOldest for drop-oldest)");
  register_queue<BqAdapter<bq::Block, bq::Mpmc>, BqAdapter<bq::DropOldest, bq::Mpmc>>("bq_mpmc");
  register_queue<BqAdapter<bq::Block, bq::Spsc>, BqAdapter<bq::DropOldest, bq::Spsc>>("bq_spsc");
  benchmark::AddCustomContext("queue:bq_mpmc_spin",
                              "bq BoundedQueue<DropNewest, Mpmc>, batch row only: try_push_range "
                              "and try_pop_into, spinning then yielding as the moodycamel row");
  benchmark::AddCustomContext("queue:bq_spsc_spin",
                              "bq BoundedQueue<DropNewest, Spsc>, batch row only, as bq_mpmc_spin");
  register_batch<BqSpinBatchAdapter<bq::Mpmc>>("bq_mpmc_spin");
  register_batch<BqSpinBatchAdapter<bq::Spsc>>("bq_spsc_spin");
  return true;
}();

}  // namespace
}  // namespace bq_bench
