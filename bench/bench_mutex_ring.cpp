// Comparison row: the std::mutex + two condition_variable ring of mutex_ring.hpp.
#include "common.hpp"
#include "mutex_ring.hpp"

namespace bq_bench {
namespace {

class MutexRingAdapter {
 public:
  static constexpr bool kMultiProducer = true;
  static constexpr std::string_view kPushWait = kParks;
  static constexpr std::string_view kPopWait = kParks;

  explicit MutexRingAdapter(std::size_t capacity) : ring_(capacity) {}
  void push(std::uint64_t item) { ring_.push(item); }
  std::uint64_t pop() { return ring_.pop(); }
  bool try_push(std::uint64_t item) { return ring_.try_push(item); }
  bool try_pop(std::uint64_t& item) {
    auto popped = ring_.try_pop();
    if (!popped) return false;
    item = *popped;
    return true;
  }
  void push_drop_oldest(std::uint64_t item) { (void)ring_.push_overwrite(item); }
  bool push_for(std::uint64_t item, std::chrono::microseconds timeout) {
    return ring_.push_for(item, timeout);
  }

 private:
  MutexRing<std::uint64_t> ring_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:mutex_ring",
                              "std::mutex + 2 condition_variables ring (bench/mutex_ring.hpp)");
  register_queue<MutexRingAdapter>("mutex_ring");
  return true;
}();

}  // namespace
}  // namespace bq_bench
