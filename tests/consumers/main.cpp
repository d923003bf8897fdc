// The program every consumer project builds: it only sees bq through the way
// that project brought it in (add_subdirectory, FetchContent or find_package).
// Exits non-zero if the queue or the version it was built against is not what
// the project expected.
#include <bq/bounded_queue.hpp>
#include <bq/version.hpp>

#include <cstdio>
#include <string_view>
#include <thread>

#ifndef BQ_CONSUMER_EXPECTED_VERSION
#error "the consumer project must define BQ_CONSUMER_EXPECTED_VERSION (from its CMake)"
#endif

#define BQ_CONSUMER_STR2(x) #x
#define BQ_CONSUMER_STR(x) BQ_CONSUMER_STR2(x)

int main() {
  constexpr const char* kHeaderVersion = BQ_CONSUMER_STR(BQ_VERSION_MAJOR) "." BQ_CONSUMER_STR(
      BQ_VERSION_MINOR) "." BQ_CONSUMER_STR(BQ_VERSION_PATCH);
  int failures = 0;
  auto check = [&failures](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "consumer: FAILED: %s\n", what);
      ++failures;
    }
  };

  // DropOldest in one thread: 10 pushes into capacity 4 keep the newest 4.
  bq::BoundedQueue<int, bq::DropOldest> queue{4};
  for (int i = 0; i < 10; ++i) queue.push(i);
  check(queue.size() == 4, "size is capped at the capacity");
  for (int expected = 6; expected < 10; ++expected) {
    const auto item = queue.try_pop();
    check(item.has_value() && *item == expected, "pops return the newest items in order");
  }
  const bq::QueueMetrics metrics = queue.metrics();
  check(metrics.pushed == 10 && metrics.popped == 4 && metrics.dropped_oldest == 6,
        "metrics count the pushes, pops and evictions");

  // Block across threads (needs Threads linked through bq::bq).
  bq::BoundedQueue<int, bq::Block> handoff{2};
  long long sum = 0;
  std::thread producer([&handoff] {
    for (int i = 1; i <= 1000; ++i) handoff.push(i);
    handoff.close();
  });
  while (auto item = handoff.pop()) sum += *item;
  producer.join();
  check(sum == 1000LL * 1001 / 2, "every item pushed by another thread is popped once");

  check(std::string_view(kHeaderVersion) == BQ_CONSUMER_EXPECTED_VERSION,
        "the headers' version is the package's version");
  std::printf("consumer: bq %s via %s: %s\n", kHeaderVersion, BQ_CONSUMER_METHOD,
              failures == 0 ? "OK" : "FAILED");
  return failures == 0 ? 0 : 1;
}
