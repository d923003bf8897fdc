// Comparison row: oneTBB concurrent_bounded_queue (Debian libtbb-dev). push and pop block
// natively (spin briefly, then sleep); no timed push; drop-oldest is emulated.
#include <tbb/concurrent_queue.h>

#include "common.hpp"

namespace bq_bench {
namespace {

class TbbAdapter {
 public:
  static constexpr bool kMultiProducer = true;
  static constexpr std::string_view kPushWait = kParks;
  static constexpr std::string_view kPopWait = kParks;

  explicit TbbAdapter(std::size_t capacity) {
    queue_.set_capacity(static_cast<std::ptrdiff_t>(capacity));
  }
  void push(std::uint64_t item) { queue_.push(item); }
  std::uint64_t pop() {
    std::uint64_t item = 0;
    queue_.pop(item);
    return item;
  }
  bool try_push(std::uint64_t item) { return queue_.try_push(item); }
  bool try_pop(std::uint64_t& item) { return queue_.try_pop(item); }

 private:
  tbb::concurrent_bounded_queue<std::uint64_t> queue_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:tbb_bounded_queue", "oneTBB concurrent_bounded_queue");
  register_queue<TbbAdapter>("tbb_bounded_queue");
  return true;
}();

}  // namespace
}  // namespace bq_bench
