// Compile-fail checks, run by .ci/steps/30-compile-checks.sh: each case below is a
// misuse that must not compile, and its error must carry bq's own message (a
// static_assert's text) rather than a page of template errors. The step compiles this
// file once with no case defined (it must compile: the cases fail for their misuse
// alone) and once per `// expect CASE: MESSAGE` line with -DBQ_MISUSE_CASE, and
// requires the build to fail with MESSAGE in its output.
//
// expect const_item: T must be a non-const object type
// expect immovable_item: T must be move-constructible
// expect throwing_destructor: T's destructor must not throw
// expect not_a_policy: Policy must have `FullAction on_full(bool deadline_passed) const`
// expect bad_concurrency: Concurrency must be bq::Mpmc or bq::Spsc
// expect force_push_spsc_without_eviction: force_push on a Spsc queue needs a policy that may evict
// expect push_range_single_pass: push_range/try_push_range need forward iterators
#include <bq/bounded_queue.hpp>

#include <iterator>
#include <sstream>

namespace {

struct Immovable {
  Immovable() = default;
  Immovable(const Immovable&) = delete;
  Immovable(Immovable&&) = delete;
};

struct ThrowingDestructor {
  ~ThrowingDestructor() noexcept(false) {}
};

struct NotAPolicy {};  // no on_full()

/// A range whose iterators can be walked only once (std::istream_iterator).
struct SinglePassRange {
  std::istringstream* in;
  std::istream_iterator<int> begin() const { return std::istream_iterator<int>(*in); }
  std::istream_iterator<int> end() const { return {}; }
};

}  // namespace

int main() {
#if defined(BQ_MISUSE_const_item)
  bq::BoundedQueue<const int, bq::DropOldest> queue{8};
#elif defined(BQ_MISUSE_immovable_item)
  bq::BoundedQueue<Immovable, bq::DropOldest> queue{8};
#elif defined(BQ_MISUSE_throwing_destructor)
  bq::BoundedQueue<ThrowingDestructor, bq::DropOldest> queue{8};
#elif defined(BQ_MISUSE_not_a_policy)
  bq::BoundedQueue<int, NotAPolicy> queue{8};
#elif defined(BQ_MISUSE_bad_concurrency)
  bq::BoundedQueue<int, bq::DropOldest, int> queue{8};
#elif defined(BQ_MISUSE_force_push_spsc_without_eviction)
  bq::BoundedQueue<int, bq::Block, bq::Spsc> queue{8};
  (void)queue.force_push(1);
#elif defined(BQ_MISUSE_push_range_single_pass)
  bq::BoundedQueue<int, bq::DropOldest> queue{8};
  std::istringstream in("1 2 3");
  (void)queue.push_range(SinglePassRange{&in});
#else
  // The well-formed uses next to each misuse above.
  bq::BoundedQueue<int, bq::DropOldest> queue{8};
  bq::BoundedQueue<int, bq::DropOldest, bq::Spsc> evicting_spsc{8};
  (void)evicting_spsc.force_push(1);
  const int items[] = {1, 2, 3};
  (void)queue.push_range(items);
#endif
  (void)queue;
  return 0;
}
