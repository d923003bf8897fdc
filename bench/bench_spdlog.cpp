// Comparison row: spdlog's details::mpmc_blocking_queue (Debian libspdlog-dev 1.10), the
// queue behind spdlog's async logger: a circular buffer under one mutex with two condition
// variables. enqueue blocks, enqueue_nowait overwrites the oldest item (its native overrun
// policy), dequeue_for waits with a timeout. 1.10 has no non-overwriting try-enqueue, so the
// try_push scenario does not apply.
#include <spdlog/common.h>  // SPDLOG_NOEXCEPT etc., which the queue's header assumes
#include <spdlog/details/mpmc_blocking_q.h>

#include "common.hpp"

namespace bq_bench {
namespace {

class SpdlogAdapter {
 public:
  static constexpr bool kMultiProducer = true;
  static constexpr std::string_view kPushWait = kParks;
  static constexpr std::string_view kPopWait = kParks;

  explicit SpdlogAdapter(std::size_t capacity) : queue_(capacity) {}
  void push(std::uint64_t item) { queue_.enqueue(std::move(item)); }
  std::uint64_t pop() {
    std::uint64_t item = 0;
    while (!queue_.dequeue_for(item, std::chrono::hours(1))) {
    }
    return item;
  }
  bool try_pop(std::uint64_t& item) {
    return queue_.dequeue_for(item, std::chrono::milliseconds(0));
  }
  void push_drop_oldest(std::uint64_t item) { queue_.enqueue_nowait(std::move(item)); }
  bool verify(std::uint64_t /*transferred*/, std::uint64_t evicted) {
    return queue_.overrun_counter() == evicted;
  }

 private:
  spdlog::details::mpmc_blocking_queue<std::uint64_t> queue_;
};

const bool registered = [] {
  benchmark::AddCustomContext("queue:spdlog_mpmc_blocking_q",
                              "spdlog details::mpmc_blocking_queue");
  register_queue<SpdlogAdapter>("spdlog_mpmc_blocking_q");
  return true;
}();

}  // namespace
}  // namespace bq_bench
