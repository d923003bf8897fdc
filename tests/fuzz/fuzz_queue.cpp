// Differential fuzz target: BoundedQueue against a std::deque model of the same policy.
//
// The first byte picks the queue: which policy (from the group BQ_FUZZ_POLICIES names, or
// all), its capacity (1..8) and whether it has an eviction handler. Every later byte is one
// call on one thread: push (rvalue, const&, emplace), try_push, try_emplace, push_for /
// push_until with zero, negative, past and maximal timeouts, force_push, pop, try_pop,
// timed pops, batch pushes and pops (push_range, try_push_range, try_pop_into,
// pop_into_for), close, reset_high_watermark, and pushes whose construction of the item in the
// queue throws (every push form: the exception must reach the caller with the caller's item
// unmoved and the queue as before, except that an evicting push into a full queue has already
// evicted the oldest item). After each call the result, the evicted items, an rejected rvalue's
// state, size()/empty()/is_closed() and the whole QueueMetrics are compared with the model;
// any difference aborts with a message. At the end the queue is destroyed and every item
// object must have been destroyed.
//
// An input with a throwing push runs with an item type whose constructors may throw; any
// other input with one whose constructors are noexcept, so the queue's noexcept paths are
// fuzzed as well.
//
//   BQ_FUZZ_POLICIES=evict|drop|block|spsc   restrict the first byte to one policy group
//   BQ_FUZZ_STATS=1                          print at exit how many throwing pushes ran
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bq/bounded_queue.hpp>

namespace {

using namespace std::chrono_literals;
using bq::PushResult;
using Clock = std::chrono::steady_clock;

constexpr int kMovedFrom = -1;
constexpr int kNotArmed = 0;  // ids start at 1

long long g_live = 0;                    // item objects alive
int g_armed = kNotArmed;                 // the id whose next construction throws (see BasicItem)
constexpr std::size_t kThrowForms = 12;  // the forms of a throwing push: call byte / 20

/// What BQ_FUZZ_STATS prints: throwing pushes run, per push form.
struct Stats {
  std::array<unsigned long long, kThrowForms> armed{};  ///< Throwing pushes called.
  std::array<unsigned long long, kThrowForms> threw{};  ///< Of those, the ones that threw.
  unsigned long long threw_after_eviction = 0;          ///< Threw after evicting the oldest.
  unsigned long long calls = 0;
};
Stats g_stats;

/// What an armed item constructor throws.
struct InjectedFailure {};

/// An item that counts its live objects and marks a moved-from source. With kMayThrow, a
/// construction of the armed id (from a value, a copy or a move) throws InjectedFailure,
/// once, before it touches its source.
template <bool kMayThrow>
struct BasicItem {
  int id;

  explicit BasicItem(int value) noexcept(!kMayThrow) : id(value) {
    about_to_construct(value);
    ++g_live;
  }
  BasicItem(const BasicItem& other) noexcept(!kMayThrow) : id(other.id) {
    about_to_construct(other.id);
    ++g_live;
  }
  BasicItem(BasicItem&& other) noexcept(!kMayThrow) : id(other.id) {
    about_to_construct(other.id);
    other.id = kMovedFrom;
    ++g_live;
  }
  BasicItem& operator=(const BasicItem&) = delete;
  BasicItem& operator=(BasicItem&&) = delete;
  ~BasicItem() { --g_live; }

 private:
  static void about_to_construct(int value) noexcept(!kMayThrow) {
    if constexpr (kMayThrow) {
      if (value == g_armed) {
        g_armed = kNotArmed;
        throw InjectedFailure{};
      }
    }
  }
};
static_assert(std::is_nothrow_move_constructible_v<BasicItem<false>> &&
                  !std::is_nothrow_move_constructible_v<BasicItem<true>> &&
                  !std::is_nothrow_copy_constructible_v<BasicItem<true>>,
              "the two item types must take the queue's noexcept and may-throw paths");

/// Returns true if the call byte `op` is a push whose construction throws (form op / 20).
constexpr bool is_throwing_push(std::uint8_t op) { return op % 20 == 19; }

[[noreturn]] void fail(const std::string& what, std::size_t step) {
  std::fprintf(stderr, "fuzz_queue: mismatch at call %zu: %s\n", step, what.c_str());
  std::abort();
}

/// Runs `call` with the item type armed so that constructing item `id` throws; returns
/// true if that InjectedFailure came out of the call (anything else propagates).
template <class Call>
bool threw(int id, std::size_t step, Call&& call) {
  g_armed = id;
  bool out = false;
  try {
    call();
  } catch (const InjectedFailure&) {
    out = true;
  }
  const bool constructed = g_armed == kNotArmed;
  g_armed = kNotArmed;
  if (constructed && !out) fail("a push swallowed the exception of its item's construction", step);
  return out;
}

enum class WhenFull { evict_oldest, drop_newest, time_out };

/// The sequential model: a deque with the policy's full behaviour and the expected metrics.
struct Model {
  std::size_t capacity;
  WhenFull when_full;
  std::deque<int> items;
  bool closed = false;
  bq::QueueMetrics metrics;

  Model(std::size_t cap, WhenFull wf) : capacity(cap), when_full(wf) { metrics.capacity = cap; }

  [[nodiscard]] bool full() const { return items.size() >= capacity; }

  void queue(int id) {
    items.push_back(id);
    ++metrics.pushed;
    metrics.size = items.size();
    if (items.size() > metrics.high_watermark) metrics.high_watermark = items.size();
  }
  int evict() {
    const int id = items.front();
    items.pop_front();
    ++metrics.dropped_oldest;
    metrics.size = items.size();
    return id;
  }
  /// A push up to the construction of its item: applies the policy (`evicted` gets the item
  /// a full queue gives up, evicted before the new one is constructed) and returns nullopt
  /// if the push goes on to construct its item in the queue, else what it returns instead.
  std::optional<PushResult> push_until_construction(std::optional<int>& evicted) {
    if (closed) {
      ++metrics.rejected_closed;
      return PushResult::closed;
    }
    if (!full()) return std::nullopt;
    switch (when_full) {
      case WhenFull::evict_oldest: evicted = evict(); return std::nullopt;
      case WhenFull::drop_newest: ++metrics.dropped_newest; return PushResult::dropped_newest;
      case WhenFull::time_out: break;
    }
    ++metrics.timed_out;
    return PushResult::timed_out;
  }
  /// A push that applies the policy; `evicted` gets the item a full queue gives up.
  PushResult push(int id, std::optional<int>& evicted) {
    if (const auto result = push_until_construction(evicted)) return *result;
    queue(id);
    return evicted ? PushResult::replaced_oldest : PushResult::pushed;
  }
  /// Returns true if a try_push constructs its item (it never evicts, waits or counts).
  [[nodiscard]] bool try_push_constructs() const { return !closed && !full(); }
  bool try_push(int id) {
    if (!try_push_constructs()) return false;
    queue(id);
    return true;
  }
  /// force_push up to the construction of its item; see push_until_construction().
  std::optional<PushResult> force_push_until_construction(std::optional<int>& evicted) {
    if (closed) {
      ++metrics.rejected_closed;
      return PushResult::closed;
    }
    if (full()) evicted = evict();
    return std::nullopt;
  }
  PushResult force_push(int id, std::optional<int>& evicted) {
    if (const auto result = force_push_until_construction(evicted)) return *result;
    queue(id);
    return evicted ? PushResult::replaced_oldest : PushResult::pushed;
  }
  std::optional<int> pop() {
    if (items.empty()) return std::nullopt;
    const int id = items.front();
    items.pop_front();
    ++metrics.popped;
    metrics.size = items.size();
    return id;
  }
};

std::string describe(const bq::QueueMetrics& m) {
  return "{capacity " + std::to_string(m.capacity) + ", size " + std::to_string(m.size) +
         ", high_watermark " + std::to_string(m.high_watermark) + ", pushed " +
         std::to_string(m.pushed) + ", popped " + std::to_string(m.popped) + ", dropped_oldest " +
         std::to_string(m.dropped_oldest) + ", dropped_newest " + std::to_string(m.dropped_newest) +
         ", timed_out " + std::to_string(m.timed_out) + ", rejected_closed " +
         std::to_string(m.rejected_closed) + "}";
}

std::string str(const std::optional<int>& v) { return v ? std::to_string(*v) : "nullopt"; }

template <class Q>
constexpr bool kHasForcePush = true;
template <class T, class P>
constexpr bool kHasForcePush<bq::BoundedQueue<T, P, bq::Spsc>> = bq::detail::policy_may_evict<P>();

/// Runs the calls encoded in `data` on a Q and on the model, comparing after each.
template <class Q>
void run(WhenFull when_full, bool waits, bq::OverflowPolicy dynamic_policy, std::size_t capacity,
         bool with_handler, const std::uint8_t* data, std::size_t size) {
  using Item = typename Q::value_type;
  bq::QueueConfig config;
  config.capacity = capacity;
  config.policy = dynamic_policy;
  config.block_timeout = 0ms;  // push() of a blocking policy must not wait in one thread
  std::vector<int> handled;    // what the eviction handler received
  Model model(capacity, when_full);
  int next_id = 1;
  {
    typename Q::EvictionHandler handler;
    if (with_handler) handler = [&handled](Item&& item) { handled.push_back(item.id); };
    Q q(config, std::move(handler));

    for (std::size_t step = 0; step < size; ++step) {
      const std::uint8_t op = data[step];
      ++g_stats.calls;
      const int id = next_id++;
      std::optional<int> expected_evicted;
      std::optional<int> got_evicted;  // force_push's .evicted
      handled.clear();
      const auto check_push = [&](const char* call, PushResult got, PushResult want,
                                  const Item* source) {
        if (got != want) {
          fail(std::string(call) + "(" + std::to_string(id) + ") returned " +
                   std::string(bq::to_string(got)) + ", model says " +
                   std::string(bq::to_string(want)),
               step);
        }
        if (source != nullptr && !bq::accepted(got) && source->id != id) {
          fail(std::string(call) + " did not queue its item but moved from it", step);
        }
      };
      const auto check_pop = [&](const char* call, const std::optional<Item>& got) {
        const std::optional<int> want = model.pop();
        const std::optional<int> got_id = got ? std::optional<int>(got->id) : std::nullopt;
        if (got_id != want) {
          fail(std::string(call) + " returned " + str(got_id) + ", model says " + str(want), step);
        }
      };
      // A push armed to throw when it constructs its item: `want` is what the model says it
      // returns without constructing the item, or nullopt if it constructs it (and so throws).
      const auto check_throwing_push = [&](const char* call, int form, bool got_threw,
                                           PushResult got, std::optional<PushResult> want,
                                           const Item* source) {
        ++g_stats.armed[static_cast<std::size_t>(form)];
        if (got_threw) {
          ++g_stats.threw[static_cast<std::size_t>(form)];
          if (expected_evicted) ++g_stats.threw_after_eviction;
        }
        if (!want && !got_threw) {
          fail(std::string(call) + "(" + std::to_string(id) + ") returned " +
                   std::string(bq::to_string(got)) +
                   ", model says it constructs its item, which throws",
               step);
        }
        if (want && got_threw) {
          fail(std::string(call) + "(" + std::to_string(id) + ") threw, model says it returns " +
                   std::string(bq::to_string(*want)) + " without constructing its item",
               step);
        }
        if (want) {
          check_push(call, got, *want, source);
        } else if (source != nullptr && source->id != id) {
          fail(std::string(call) + " threw but moved from its item", step);
        }
      };
      const auto check_throwing_try_push = [&](const char* call, int form, bool got_threw, bool got,
                                               const Item* source) {
        ++g_stats.armed[static_cast<std::size_t>(form)];
        if (got_threw) ++g_stats.threw[static_cast<std::size_t>(form)];
        const bool constructs = model.try_push_constructs();
        if (constructs && !got_threw) {
          fail(std::string(call) + "(" + std::to_string(id) + ") returned " + std::to_string(got) +
                   ", model says it constructs its item, which throws",
               step);
        }
        if (!constructs && (got_threw || got)) {
          fail(std::string(call) + "(" + std::to_string(id) + ") " +
                   (got_threw ? "threw" : "returned true") +
                   ", model says full or closed (nothing constructed)",
               step);
        }
        if (source != nullptr && source->id != id) {
          fail(std::string(call) + " did not queue its item but moved from it", step);
        }
      };
      // Every push form, armed so that constructing its item throws (form 0..11).
      const auto run_throwing_push = [&](int form) {
        std::optional<PushResult> want;       // nullopt: the push constructs, so throws
        PushResult got = PushResult::pushed;  // (unset when the call throws)
        bool got_threw = false;
        bool got_ok = false;
        const auto past = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now() - 1h);
        switch (form) {
          case 0: {
            Item item(id);
            want = model.push_until_construction(expected_evicted);
            got_threw = threw(id, step, [&] { got = q.push(std::move(item)); });
            check_throwing_push("push", form, got_threw, got, want, &item);
            break;
          }
          case 1: {
            const Item item(id);
            want = model.push_until_construction(expected_evicted);
            got_threw = threw(id, step, [&] { got = q.push(item); });
            check_throwing_push("push(const&)", form, got_threw, got, want, &item);
            break;
          }
          case 2:
            want = model.push_until_construction(expected_evicted);
            got_threw = threw(id, step, [&] { got = q.emplace(id); });
            check_throwing_push("emplace", form, got_threw, got, want, nullptr);
            break;
          case 3: {
            Item item(id);
            got_threw = threw(id, step, [&] { got_ok = q.try_push(std::move(item)); });
            check_throwing_try_push("try_push", form, got_threw, got_ok, &item);
            break;
          }
          case 4: {
            const Item item(id);
            got_threw = threw(id, step, [&] { got_ok = q.try_push(item); });
            check_throwing_try_push("try_push(const&)", form, got_threw, got_ok, &item);
            break;
          }
          case 5:
            got_threw = threw(id, step, [&] { got_ok = q.try_emplace(id); });
            check_throwing_try_push("try_emplace", form, got_threw, got_ok, nullptr);
            break;
          case 6: {
            Item item(id);
            want = model.push_until_construction(expected_evicted);
            got_threw = threw(id, step, [&] { got = q.push_for(std::move(item), 0ms); });
            check_throwing_push("push_for(0)", form, got_threw, got, want, &item);
            break;
          }
          case 7: {
            Item item(id);
            want = model.push_until_construction(expected_evicted);
            got_threw = threw(id, step, [&] { got = q.push_until(std::move(item), past); });
            check_throwing_push("push_until(past)", form, got_threw, got, want, &item);
            break;
          }
          case 8: {  // when it cannot wait
            if (model.full() && !model.closed && waits) break;
            Item item(id);
            want = model.push_until_construction(expected_evicted);
            got_threw = threw(id, step, [&] {
              got = q.push_for(std::move(item), std::chrono::nanoseconds::max());
            });
            check_throwing_push("push_for(max)", form, got_threw, got, want, &item);
            break;
          }
          case 9:
          case 10: {
            Item item(id);
            const bool by_copy = form == 10;
            if constexpr (kHasForcePush<Q>) {
              const char* call = by_copy ? "force_push(const&)" : "force_push";
              want = model.force_push_until_construction(expected_evicted);
              std::optional<bq::ForcePushResult<Item>> result;
              got_threw = threw(id, step, [&] {
                if (by_copy) {
                  result.emplace(q.force_push(std::as_const(item)));
                } else {
                  result.emplace(q.force_push(std::move(item)));
                }
              });
              if (result) {
                got = result->result;
                if (result->evicted) got_evicted = result->evicted->id;
              }
              check_throwing_push(call, form, got_threw, got, want, &item);
              if (!got_threw) {
                if (got_evicted != expected_evicted) {
                  fail(std::string(call) + " evicted " + str(got_evicted) + ", model says " +
                           str(expected_evicted),
                       step);
                }
                expected_evicted.reset();  // returned, not handled
              }
              // If it threw, the item it evicted went to the handler (checked below).
            } else {
              want = model.push_until_construction(expected_evicted);
              got_threw = threw(id, step, [&] {
                got = by_copy ? q.push(std::as_const(item)) : q.push(std::move(item));
              });
              check_throwing_push(by_copy ? "push(const&)" : "push", form, got_threw, got, want,
                                  &item);
            }
            break;
          }
          default: {
            const Item item(id);
            want = model.push_until_construction(expected_evicted);
            got_threw = threw(id, step, [&] { got = q.push_until(item, past); });
            check_throwing_push("push_until(const&, past)", form, got_threw, got, want, &item);
            break;
          }
        }
      };

      switch (op % 20) {
        case 0: {  // push(T&&)
          Item item(id);
          const PushResult got = q.push(std::move(item));
          check_push("push", got, model.push(id, expected_evicted), &item);
          break;
        }
        case 1: {  // push(const T&)
          const Item item(id);
          check_push("push(const&)", q.push(item), model.push(id, expected_evicted), nullptr);
          break;
        }
        case 2:  // emplace
          check_push("emplace", q.emplace(id), model.push(id, expected_evicted), nullptr);
          break;
        case 3: {  // try_push(T&&)
          Item item(id);
          const bool got = q.try_push(std::move(item));
          if (got != model.try_push(id)) fail("try_push returned " + std::to_string(got), step);
          if (!got && item.id != id) fail("failed try_push moved from its item", step);
          break;
        }
        case 4: {  // try_emplace / try_push(const T&)
          bool got;
          if ((op / 20) % 2 == 0) {
            got = q.try_emplace(id);
          } else {
            const Item item(id);
            got = q.try_push(item);
          }
          if (got != model.try_push(id)) fail("try_emplace returned " + std::to_string(got), step);
          break;
        }
        case 5: {  // push_for zero / negative
          Item item(id);
          const PushResult got = (op / 20) % 2 == 0 ? q.push_for(std::move(item), 0ms)
                                                    : q.push_for(std::move(item), -3s);
          check_push("push_for(<=0)", got, model.push(id, expected_evicted), &item);
          break;
        }
        case 6: {  // push_until in the past, in various precisions
          Item item(id);
          PushResult got;
          switch ((op / 20) % 3) {
            case 0: got = q.push_until(std::move(item), Clock::now()); break;
            case 1:
              got = q.push_until(
                  std::move(item),
                  std::chrono::time_point_cast<std::chrono::seconds>(Clock::now() - 1h));
              break;
            default: got = q.push_until(std::move(item), Clock::time_point::min()); break;
          }
          check_push("push_until(past)", got, model.push(id, expected_evicted), &item);
          break;
        }
        case 7: {  // push_for / push_until with an endless timeout, when it cannot wait
          if (model.full() && !model.closed && waits) break;
          Item item(id);
          PushResult got;
          switch ((op / 20) % 3) {
            case 0: got = q.push_for(std::move(item), std::chrono::nanoseconds::max()); break;
            case 1: got = q.push_for(std::move(item), std::chrono::hours(24)); break;
            default: got = q.push_until(std::move(item), Clock::time_point::max()); break;
          }
          check_push("push_for(max)", got, model.push(id, expected_evicted), &item);
          break;
        }
        case 8: {  // force_push
          Item item(id);
          if constexpr (kHasForcePush<Q>) {
            auto got = q.force_push(std::move(item));
            if (got.evicted) got_evicted = got.evicted->id;
            check_push("force_push", got.result, model.force_push(id, expected_evicted), &item);
            if (got_evicted != expected_evicted) {
              fail("force_push evicted " + str(got_evicted) + ", model says " +
                       str(expected_evicted),
                   step);
            }
            expected_evicted.reset();  // returned, not handled
          } else {
            check_push("push", q.push(std::move(item)), model.push(id, expected_evicted), &item);
          }
          break;
        }
        case 9:  // pop(): only when it cannot block forever
          if (model.items.empty() && !model.closed) {
            check_pop("try_pop", q.try_pop());
          } else {
            check_pop("pop", q.pop());
          }
          break;
        case 10: check_pop("try_pop", q.try_pop()); break;
        case 11: check_pop("pop_for(0)", q.pop_for(0ms)); break;
        case 12:
          if ((op / 20) % 2 == 0) {
            check_pop("pop_for(-1s)", q.pop_for(-1s));
          } else {  // a batch pop of 1 to 4 items that never waits
            const std::size_t max = 1 + (op / 40) % 4;
            std::vector<Item> out;
            const std::size_t got = (op / 40) % 8 < 4
                                        ? q.try_pop_into(std::back_inserter(out), max)
                                        : q.pop_into_for(std::back_inserter(out), max, 0ms);
            std::vector<int> want;
            while (want.size() < max) {
              const std::optional<int> one = model.pop();
              if (!one) break;
              want.push_back(*one);
            }
            std::vector<int> got_ids;
            for (const Item& item : out) got_ids.push_back(item.id);
            if (got != out.size() || got_ids != want) {
              fail("a batch pop of " + std::to_string(max) + " returned " + std::to_string(got) +
                       " items, model says " + std::to_string(want.size()),
                   step);
            }
          }
          break;
        case 13: check_pop("pop_until(past)", q.pop_until(Clock::now() - 1ms)); break;
        case 14:  // pop_for(max) when it cannot block forever
          if (model.items.empty() && !model.closed) {
            check_pop("pop_for(0ns)", q.pop_for(0ns));
          } else {
            check_pop("pop_for(max)", q.pop_for(std::chrono::milliseconds::max()));
          }
          break;
        case 15:
          if ((op / 20) % 4 == 0) {  // close, rarely, so long runs stay open
            q.close();
            model.closed = true;
          } else {
            check_pop("try_pop", q.try_pop());
          }
          break;
        case 16:
          q.reset_high_watermark();
          model.metrics.high_watermark = model.items.size();
          break;
        case 17: {
          if ((op / 20) % 2 == 0) {  // push(const T&) through push_for with a duration<double>
            const Item item(id);
            check_push("push_for(const&, 0.0s)",
                       q.push_for(item, std::chrono::duration<double>(0.0)),
                       model.push(id, expected_evicted), nullptr);
            break;
          }
          // A batch of 1 to 5 items: push_range (moved) or try_push_range (copied).
          const int count = 1 + (op / 40) % 5;
          const bool try_only = (op / 40) % 10 >= 5;
          next_id += count - 1;
          std::vector<Item> items;
          items.reserve(static_cast<std::size_t>(count));
          for (int i = 0; i < count; ++i) items.emplace_back(id + i);
          std::size_t want = 0;
          std::vector<int> want_evicted;
          for (int i = 0; i < count; ++i) {
            if (try_only) {
              if (!model.try_push(id + i)) break;  // the rest untouched, nothing counted
              ++want;
              continue;
            }
            std::optional<int> evicted;
            if (bq::accepted(model.push(id + i, evicted))) ++want;
            if (evicted) want_evicted.push_back(*evicted);
          }
          const std::size_t got =
              try_only ? q.try_push_range(items) : q.push_range(std::move(items));
          if (got != want) {
            fail(std::string(try_only ? "try_push_range" : "push_range") + " of " +
                     std::to_string(count) + " queued " + std::to_string(got) + ", model says " +
                     std::to_string(want),
                 step);
          }
          for (std::size_t i = 0; i < items.size(); ++i) {  // NOLINT(bugprone-use-after-move)
            if ((i < got) == (items[i].id == id + static_cast<int>(i)) && !try_only) {
              fail("push_range moved from an item it did not queue, or kept one it did", step);
            }
          }
          if (with_handler && handled != want_evicted) {
            fail("push_range's evictions reached the handler out of order or not once each", step);
          }
          handled.clear();  // checked here: the check below is for one eviction at most
          break;
        }
        case 18: {  // emplace with a BlockThen-style zero wait through push_until(now)
          Item item(id);
          check_push("push_until(now)", q.push_until(std::move(item), Clock::now()),
                     model.push(id, expected_evicted), &item);
          break;
        }
        case 19:  // a push whose construction of its item in the queue throws
          if constexpr (std::is_nothrow_copy_constructible_v<Item>) {
            fail("a throwing push in a run with a noexcept item type", step);
          } else {
            run_throwing_push(op / 20);
          }
          break;
      }

      // Evictions: with a handler, it received exactly the item the model evicted.
      const std::optional<int> handled_one =
          handled.empty() ? std::nullopt : std::optional<int>(handled.front());
      if (handled.size() > 1) fail("the handler was called more than once", step);
      if (with_handler && handled_one != expected_evicted) {
        fail("the eviction handler got " + str(handled_one) + ", model evicted " +
                 str(expected_evicted),
             step);
      }
      if (!with_handler && !handled.empty()) fail("a handler that was never set ran", step);

      const bq::QueueMetrics got = q.metrics();
      if (!(got == model.metrics)) {
        fail("metrics " + describe(got) + ", model " + describe(model.metrics), step);
      }
      if (q.size() != model.items.size() || q.empty() != model.items.empty()) {
        fail("size() " + std::to_string(q.size()) + ", model " + std::to_string(model.items.size()),
             step);
      }
      if (q.is_closed() != model.closed) fail("is_closed() disagrees", step);
      if (q.capacity() != capacity) fail("capacity() changed", step);
      // Items alive: those queued (the model's count); none held here between calls.
      if (g_live != static_cast<long long>(model.items.size())) {
        fail("live items " + std::to_string(g_live) + ", queued " +
                 std::to_string(model.items.size()),
             step);
      }
    }
  }
  if (g_live != 0) fail("items leaked after the queue was destroyed", size);
}

enum class Group { all, evict, drop, block, spsc };
Group g_group = Group::all;

using RunFn = void(WhenFull, bool, bq::OverflowPolicy, std::size_t, bool, const std::uint8_t*,
                   std::size_t);

/// run() of one queue type, with each item type.
struct Runners {
  RunFn* noexcept_items;  ///< For inputs without a throwing push.
  RunFn* throwing_items;  ///< For inputs with one: constructors that may throw.
};

struct Variant {
  Runners run;
  WhenFull when_full;
  bool waits;  ///< Whether a push into a full queue waits for room (up to its deadline).
  bq::OverflowPolicy dynamic_policy;
  Group group;
};

template <class P, class C = bq::Mpmc>
constexpr Runners runner() {
  return {&run<bq::BoundedQueue<BasicItem<false>, P, C>>,
          &run<bq::BoundedQueue<BasicItem<true>, P, C>>};
}

constexpr Variant kVariants[] = {
    {runner<bq::DropOldest>(), WhenFull::evict_oldest, false, bq::OverflowPolicy::drop_oldest,
     Group::evict},
    {runner<bq::BlockThen<bq::DropOldest>>(), WhenFull::evict_oldest, true,
     bq::OverflowPolicy::drop_oldest, Group::evict},
    {runner<bq::Dynamic>(), WhenFull::evict_oldest, false, bq::OverflowPolicy::drop_oldest,
     Group::evict},
    {runner<bq::DropNewest>(), WhenFull::drop_newest, false, bq::OverflowPolicy::drop_newest,
     Group::drop},
    {runner<bq::BlockThen<bq::DropNewest>>(), WhenFull::drop_newest, true,
     bq::OverflowPolicy::drop_newest, Group::drop},
    {runner<bq::Dynamic>(), WhenFull::drop_newest, false, bq::OverflowPolicy::drop_newest,
     Group::drop},
    {runner<bq::Block>(), WhenFull::time_out, true, bq::OverflowPolicy::block, Group::block},
    {runner<bq::Dynamic>(), WhenFull::time_out, true, bq::OverflowPolicy::block, Group::block},
    {runner<bq::DropOldest, bq::Spsc>(), WhenFull::evict_oldest, false,
     bq::OverflowPolicy::drop_oldest, Group::spsc},
    {runner<bq::DropNewest, bq::Spsc>(), WhenFull::drop_newest, false,
     bq::OverflowPolicy::drop_newest, Group::spsc},
    {runner<bq::Block, bq::Spsc>(), WhenFull::time_out, true, bq::OverflowPolicy::block,
     Group::spsc},
};

void print_stats() {
  std::fprintf(stderr,
               "fuzz_queue: %llu calls; throwing pushes by form (threw/called):", g_stats.calls);
  unsigned long long armed = 0;
  unsigned long long threw = 0;
  for (std::size_t form = 0; form < kThrowForms; ++form) {
    std::fprintf(stderr, " %llu/%llu", g_stats.threw[form], g_stats.armed[form]);
    armed += g_stats.armed[form];
    threw += g_stats.threw[form];
  }
  std::fprintf(stderr, "; in all %llu of %llu threw, %llu of them after evicting the oldest\n",
               threw, armed, g_stats.threw_after_eviction);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (const char* env = std::getenv("BQ_FUZZ_STATS"); env != nullptr && *env != '\0') {
    std::atexit(print_stats);
  }
  if (const char* env = std::getenv("BQ_FUZZ_POLICIES")) {
    const std::string_view name(env);
    if (name == "evict") g_group = Group::evict;
    if (name == "drop") g_group = Group::drop;
    if (name == "block") g_group = Group::block;
    if (name == "spsc") g_group = Group::spsc;
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<const Variant*> variants;
  for (const Variant& v : kVariants) {
    if (g_group == Group::all || v.group == g_group) variants.push_back(&v);
  }
  const std::uint8_t head = data[0];
  const Variant& v = *variants[(head & 0x0F) % variants.size()];
  const std::size_t capacity = static_cast<std::size_t>((head >> 4) & 0x07) + 1;
  const bool with_handler = (head & 0x80) != 0;
  const bool throwing = std::any_of(data + 1, data + size, is_throwing_push);
  RunFn* const run_fn = throwing ? v.run.throwing_items : v.run.noexcept_items;
  run_fn(v.when_full, v.waits, v.dynamic_policy, capacity, with_handler, data + 1, size - 1);
  return 0;
}
