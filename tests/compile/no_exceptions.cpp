// Built with -fno-exceptions by .ci/steps/30-compile-checks.sh: the core header must
// compile without exceptions, every policy and both concurrency modes must work, and
// what would throw must print its message on stderr and abort.
//
//   no_exceptions              exercises the queue; exits 0
//   no_exceptions bad-config   builds a queue of capacity 0: must abort with the message
#include <bq/bounded_queue.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

/// An item whose copy may throw in a build with exceptions (std::string allocates).
struct Message {
  std::string text;
};

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "no_exceptions: FAILED: %s\n", what);
    ++failures;
  }
}

template <class Policy, class Concurrency = bq::Mpmc>
void exercise() {
  bq::BoundedQueue<Message, Policy, Concurrency> q(
      bq::QueueConfig{.capacity = 2, .block_timeout = std::chrono::milliseconds(1)});
  const Message first{"first"};
  expect(bq::accepted(q.push(first)), "push(const T&)");
  expect(bq::accepted(q.push(Message{"second"})), "push(T&&)");
  (void)q.push_for(Message{"third"}, std::chrono::milliseconds(1));  // full: per policy
  expect(!q.try_push(Message{"fourth"}), "try_push into a full queue");
  const auto popped = q.try_pop();
  expect(popped.has_value(), "try_pop");
  expect(q.pop_for(std::chrono::milliseconds(1)).has_value(), "pop_for");
  q.close();
  expect(!q.pop().has_value(), "pop after close and drain");
  const bq::QueueMetrics m = q.metrics();
  expect(m.pushed == m.popped + m.dropped_oldest + m.size, "metrics invariant");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "bad-config") == 0) {
    bq::BoundedQueue<int, bq::Block> q(0);  // prints the message, then aborts
    return 0;                               // not reached
  }
  exercise<bq::DropOldest>();
  exercise<bq::DropNewest>();
  exercise<bq::Block>();
  exercise<bq::BlockThen<bq::DropOldest>>();
  exercise<bq::Dynamic>();
  exercise<bq::Block, bq::Spsc>();
  exercise<bq::DropOldest, bq::Spsc>();
  bq::BoundedQueue<int, bq::DropOldest> evicting(1);
  (void)evicting.push(1);
  expect(evicting.force_push(2).evicted == 1, "force_push returns the evicted item");
  std::printf("no_exceptions: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
