// Comparison rows: boost.lockfree queue (MPMC) and spsc_queue (Debian libboost-dev), both with
// a compile-time capacity of 1024 so they never allocate. Neither waits: blocking push and pop
// spin (emulated), drop-oldest is emulated.
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include "common.hpp"

namespace bq_bench {
namespace {

template <class Queue, bool kMpmc>
class BoostAdapter {
 public:
  static constexpr bool kMultiProducer = kMpmc;
  static constexpr std::string_view kPushWait = kSpinYield;
  static constexpr std::string_view kPopWait = kSpinYield;

  explicit BoostAdapter(std::size_t /*capacity is a template argument*/) {}
  void push(std::uint64_t item) {
    spin_until([&] { return try_push(item); });
  }
  std::uint64_t pop() {
    std::uint64_t item = 0;
    spin_until([&] { return queue_.pop(item); });
    return item;
  }
  bool try_push(std::uint64_t item) {
    if constexpr (kMpmc) {
      return queue_.bounded_push(item);
    } else {
      return queue_.push(item);
    }
  }
  bool try_pop(std::uint64_t& item) { return queue_.pop(item); }

 private:
  Queue queue_;
};

using Capacity = boost::lockfree::capacity<kCapacity>;
using BoostQueue = BoostAdapter<boost::lockfree::queue<std::uint64_t, Capacity>, true>;
using BoostSpsc = BoostAdapter<boost::lockfree::spsc_queue<std::uint64_t, Capacity>, false>;

const bool registered = [] {
  benchmark::AddCustomContext("queue:boost_queue", "boost::lockfree::queue (capacity<1024>)");
  benchmark::AddCustomContext("queue:boost_spsc_queue",
                              "boost::lockfree::spsc_queue (capacity<1024>)");
  register_queue<BoostQueue>("boost_queue");
  register_queue<BoostSpsc>("boost_spsc_queue");
  return true;
}();

}  // namespace
}  // namespace bq_bench
