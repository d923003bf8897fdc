// Records short concurrent histories of a queue for the linearizability checker.
//
// A Plan says, for one round, the queue's capacity and push timeout, the items pushed
// before the threads start, and each thread's script of calls. A Recorder<Q> keeps a few
// worker threads alive across rounds (creating threads per round would serialize them),
// releases them together, and stamps every call with the shared atomic clock before and
// after it. Every item is a distinct int, so the checker can tell items apart. Random
// busy-waits between calls shift the threads against each other from round to round.
//
// A plan may also mark push calls as failing: their item is a FallibleItem whose copy, move
// or emplace-construction throws, so the push throws from inside the queue (after claiming
// its slot, and after evicting, if it evicts). The history records such a call as a push
// that threw, with what the eviction handler got during it.
//
// A plan may also have batch calls (PlanShape::batch_percent): a batch push offers 1 to
// capacity + 2 items of its own (batch_values()), a batch pop asks for at most 1 to
// capacity + 1. Their items never fail. Queues without batch calls (has_batches) never get
// such a plan.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checker.hpp"
#include "support/test_util.hpp"

namespace bq::lin {

/// Every queue call the histories exercise.
enum class Call : std::uint8_t {
  push,               // push(T&&): the policy, waiting up to config().block_timeout
  push_copy,          // push(const T&)
  emplace,            // emplace(int)
  push_for_zero,      // push_for(item, 0ms)
  push_for_negative,  // push_for(item, -5ms)
  push_for_short,     // push_for(item, 200us)
  push_until_past,    // push_until(item, now - 1s)
  push_until_short,   // push_until(item, now + 200us)
  try_push,           // try_push(T&&)
  try_emplace,        // try_emplace(int)
  force_push,         // force_push(T&&)
  pop,                // pop(): waits until an item or closed (only when a close is planned)
  try_pop,            // try_pop()
  pop_for_zero,       // pop_for(0ms)
  pop_for_negative,   // pop_for(-5ms)
  pop_for_short,      // pop_for(200us)
  pop_until_past,     // pop_until(now - 1s)
  pop_until_short,    // pop_until(now + 200us)
  close,              // close()
  // Batches (Plan::sizes gives the number of items offered, or the most asked for):
  try_push_range,        // try_push_range(vector&&)
  push_range,            // push_range(const vector&): the policy, as push()
  try_pop_into,          // try_pop_into(back_inserter, max)
  pop_into,              // pop_into: waits until an item or closed (only when a close is planned)
  pop_into_for_zero,     // pop_into_for(.., 0ms)
  pop_into_for_short,    // pop_into_for(.., 200us)
  pop_into_until_past,   // pop_into_until(.., now - 1s)
  pop_into_until_short,  // pop_into_until(.., now + 200us)
};

inline constexpr bool is_push(Call c) noexcept { return c <= Call::force_push; }

/// Thrown by a FallibleItem marked to fail when it is copied, moved or emplaced.
struct ItemConstructionFailed : std::runtime_error {
  ItemConstructionFailed() : std::runtime_error("bq::lin: item construction failed") {}
};

/// An int that can be marked to fail: copying or moving a marked item throws, and so does
/// emplacing one with the Fail tag. A marked item therefore never gets into a queue, and an
/// unmarked one (the only kind ever queued) never throws, so pops and evictions cannot.
class FallibleItem {
 public:
  struct Fail {};

  explicit FallibleItem(int value) noexcept : value_(value) {}
  FallibleItem(int, Fail) { throw ItemConstructionFailed(); }
  FallibleItem(const FallibleItem& other) : value_(other.value_), fails_(other.fails_) {
    if (fails_) throw ItemConstructionFailed();
  }
  // Not noexcept: moving a marked item throws (so push(T&&) fails like push(const T&)).
  FallibleItem(FallibleItem&& other) : value_(other.value_), fails_(other.fails_) {
    if (fails_) throw ItemConstructionFailed();
  }
  FallibleItem& operator=(const FallibleItem&) = delete;
  ~FallibleItem() = default;

  /// Returns an item whose copies and moves throw (built in place, so it needs neither).
  static FallibleItem failing(int value) noexcept { return FallibleItem(value, true); }

  [[nodiscard]] int value() const noexcept { return value_; }

 private:
  FallibleItem(int value, bool fails) noexcept : value_(value), fails_(fails) {}

  int value_;
  bool fails_ = false;
};

/// How the harness makes and reads the items of a queue of T (int or FallibleItem).
template <class T>
struct Items;

template <>
struct Items<int> {
  static constexpr bool can_fail = false;
  static int make(int value, bool /*fails: never planned for int*/) { return value; }
  static int value(int item) noexcept { return item; }
};

template <>
struct Items<FallibleItem> {
  static constexpr bool can_fail = true;
  static FallibleItem make(int value, bool fails) {
    if (fails) return FallibleItem::failing(value);  // (a prvalue: never copied or moved)
    return FallibleItem(value);
  }
  static int value(const FallibleItem& item) noexcept { return item.value(); }
};

/// Returns the name of `call` as the message of a failure shows it.
inline const char* label(Call call) noexcept {
  switch (call) {
    case Call::push: return "push";
    case Call::push_copy: return "push(const&)";
    case Call::emplace: return "emplace";
    case Call::push_for_zero: return "push_for(0)";
    case Call::push_for_negative: return "push_for(-5ms)";
    case Call::push_for_short: return "push_for(200us)";
    case Call::push_until_past: return "push_until(past)";
    case Call::push_until_short: return "push_until(+200us)";
    case Call::try_push: return "try_push";
    case Call::try_emplace: return "try_emplace";
    case Call::force_push: return "force_push";
    case Call::pop: return "pop";
    case Call::try_pop: return "try_pop";
    case Call::pop_for_zero: return "pop_for(0)";
    case Call::pop_for_negative: return "pop_for(-5ms)";
    case Call::pop_for_short: return "pop_for(200us)";
    case Call::pop_until_past: return "pop_until(past)";
    case Call::pop_until_short: return "pop_until(+200us)";
    case Call::close: return "close";
    case Call::try_push_range: return "try_push_range";
    case Call::push_range: return "push_range";
    case Call::try_pop_into: return "try_pop_into";
    case Call::pop_into: return "pop_into";
    case Call::pop_into_for_zero: return "pop_into_for(0)";
    case Call::pop_into_for_short: return "pop_into_for(200us)";
    case Call::pop_into_until_past: return "pop_into_until(past)";
    case Call::pop_into_until_short: return "pop_into_until(+200us)";
  }
  return "?";
}

/// One round: a fresh queue, some items pushed first, then every thread runs its script.
struct Plan {
  std::size_t capacity = 1;
  std::chrono::milliseconds block_timeout{0};
  int prefill = 0;                            ///< Items try_pushed before the threads start.
  std::vector<std::vector<Call>> scripts;     ///< One per thread.
  std::vector<std::vector<unsigned>> pauses;  ///< Busy-wait iterations before each call.
  /// Per thread, per call: whether a push's item fails (throws when copied, moved or
  /// emplaced). Empty, or shorter than a script: no failing items there.
  std::vector<std::vector<bool>> failing;
  /// Per thread, per call: for a batch call, how many items it offers or asks for at most.
  /// Empty, or shorter than a script: 0 there.
  std::vector<std::vector<unsigned>> sizes;

  /// Returns whether call `i` of thread `t` pushes a failing item.
  [[nodiscard]] bool fails(std::size_t t, std::size_t i) const noexcept {
    return t < failing.size() && i < failing[t].size() && failing[t][i];
  }
  /// Returns the batch size of call `i` of thread `t`.
  [[nodiscard]] std::size_t size(std::size_t t, std::size_t i) const noexcept {
    return t < sizes.size() && i < sizes[t].size() ? sizes[t][i] : 0;
  }
};

/// What calls a plan may contain.
struct PlanShape {
  std::size_t threads = 2;
  std::size_t max_capacity = 4;
  std::size_t min_calls = 2;  ///< Per thread.
  std::size_t max_calls = 6;
  bool spsc = false;       ///< Thread 0 only pushes, thread 1 only pops, thread 2 may close.
  bool force_push = true;  ///< Whether force_push may appear.
  /// Percent of push calls whose item fails (needs a queue of FallibleItem); 0: none.
  unsigned failing_percent = 0;
  /// Percent of push and pop calls that are batches (never failing ones); 0: none.
  unsigned batch_percent = 0;
};

/// Returns a random plan of the given shape. A blocking pop() appears only in a round where
/// thread 0 (which never blocks) ends with close(), so every pop() returns.
template <class Rng>
Plan random_plan(const PlanShape& shape, Rng& rng) {
  const auto pick = [&](std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
  };
  Plan plan;
  plan.capacity = pick(1, shape.max_capacity);
  plan.block_timeout = std::chrono::milliseconds(pick(0, 1));
  plan.prefill = static_cast<int>(pick(0, plan.capacity));
  const bool closing = pick(0, 9) < 4;
  plan.scripts.resize(shape.threads);
  plan.pauses.resize(shape.threads);

  static constexpr Call kPushes[] = {Call::push,
                                     Call::push_copy,
                                     Call::emplace,
                                     Call::push_for_zero,
                                     Call::push_for_negative,
                                     Call::push_for_short,
                                     Call::push_until_past,
                                     Call::push_until_short,
                                     Call::try_push,
                                     Call::try_emplace,
                                     Call::force_push};
  static constexpr Call kPops[] = {Call::try_pop,          Call::pop_for_zero,
                                   Call::pop_for_negative, Call::pop_for_short,
                                   Call::pop_until_past,   Call::pop_until_short};
  static constexpr Call kBatchPops[] = {Call::try_pop_into, Call::pop_into_for_zero,
                                        Call::pop_into_for_short, Call::pop_into_until_past,
                                        Call::pop_into_until_short};
  // A batch is drawn only when batch_percent > 0, so plans without batches stay as they were.
  const auto batch = [&] { return shape.batch_percent > 0 && pick(0, 99) < shape.batch_percent; };
  const auto random_push = [&] {
    if (batch()) return pick(0, 1) == 0 ? Call::try_push_range : Call::push_range;
    for (;;) {
      const Call c = kPushes[pick(0, std::size(kPushes) - 1)];
      if (c != Call::force_push || shape.force_push) return c;
    }
  };
  const auto random_pop = [&](bool may_block) {
    if (batch()) {
      if (may_block && pick(0, 4) == 0) return Call::pop_into;
      return kBatchPops[pick(0, std::size(kBatchPops) - 1)];
    }
    if (may_block && pick(0, 4) == 0) return Call::pop;
    return kPops[pick(0, std::size(kPops) - 1)];
  };
  // Roles: in half the rounds each thread leans to pushing or popping, else all mix.
  const bool roles = shape.spsc || pick(0, 1) == 0;
  for (std::size_t t = 0; t < shape.threads; ++t) {
    auto& script = plan.scripts[t];
    const std::size_t calls = pick(shape.min_calls, shape.max_calls);
    for (std::size_t i = 0; i < calls; ++i) {
      const bool may_block = closing && t != 0;
      if (shape.spsc) {
        if (t == 0) script.push_back(random_push());
        if (t == 1) script.push_back(random_pop(may_block));
        continue;
      }
      const std::size_t push_percent = roles ? (t % 2 == 0 ? 80 : 20) : 50;
      script.push_back(pick(0, 99) < push_percent ? random_push() : random_pop(may_block));
    }
  }
  if (closing) {
    if (shape.spsc) {
      plan.scripts[shape.threads > 2 ? 2 : 0].push_back(Call::close);
    } else {
      plan.scripts[0].push_back(Call::close);
    }
    // Sometimes a second close elsewhere: close is idempotent.
    if (shape.threads > 2 && !shape.spsc && pick(0, 3) == 0) {
      auto& other = plan.scripts[pick(1, shape.threads - 1)];
      other.insert(other.begin() + static_cast<std::ptrdiff_t>(pick(0, other.size())), Call::close);
    }
  }
  for (std::size_t t = 0; t < shape.threads; ++t) {
    for (std::size_t i = 0; i < plan.scripts[t].size(); ++i) {
      plan.pauses[t].push_back(pick(0, 3) == 0 ? 0U : static_cast<unsigned>(pick(0, 400)));
    }
  }
  // Drawn last, and only when asked for, so plans without failing items stay as they were.
  if (shape.failing_percent > 0) {
    plan.failing.resize(shape.threads);
    for (std::size_t t = 0; t < shape.threads; ++t) {
      for (Call call : plan.scripts[t]) {
        plan.failing[t].push_back(is_push(call) && pick(0, 99) < shape.failing_percent);
      }
    }
  }
  // Batch sizes: pushes 1 to capacity + 2 items (so some overflow even an empty queue),
  // pops at most 1 to capacity + 1.
  if (shape.batch_percent > 0) {
    plan.sizes.resize(shape.threads);
    for (std::size_t t = 0; t < shape.threads; ++t) {
      for (Call call : plan.scripts[t]) {
        const bool pushes = call == Call::try_push_range || call == Call::push_range;
        plan.sizes[t].push_back(static_cast<unsigned>(pick(1, plan.capacity + (pushes ? 2 : 1))));
      }
    }
  }
  return plan;
}

/// Returns the plan as text: capacity, timeout, prefill and each thread's calls.
inline std::string describe(const Plan& plan) {
  std::string text = "  capacity " + std::to_string(plan.capacity) + ", block_timeout " +
                     std::to_string(plan.block_timeout.count()) + "ms, prefill " +
                     std::to_string(plan.prefill) + "\n";
  for (std::size_t t = 0; t < plan.scripts.size(); ++t) {
    text += "  t" + std::to_string(t) + ":";
    for (std::size_t i = 0; i < plan.scripts[t].size(); ++i) {
      text += std::string(" ") + label(plan.scripts[t][i]) + (plan.fails(t, i) ? "[fails]" : "");
      if (plan.scripts[t][i] >= Call::try_push_range)
        text += "[" + std::to_string(plan.size(t, i)) + "]";
    }
    text += '\n';
  }
  return text;
}

namespace detail {
/// Where the eviction handler of the queue under test puts what it is given: each worker
/// points it at the Op it is running (the handler runs in the pushing thread).
inline thread_local Op* eviction_sink = nullptr;

inline void pause(unsigned iterations) {
  for (unsigned i = 0; i < iterations; ++i) {
    std::atomic_signal_fence(std::memory_order_seq_cst);  // Keeps the loop from being removed.
  }
}

}  // namespace detail

/// Returns an eviction handler that records each evicted item in the running Op.
template <class T = int>
auto recording_handler() {
  return [](T&& item) {
    if (detail::eviction_sink != nullptr) {
      detail::eviction_sink->evicted.push_back(Items<T>::value(item));
    }
  };
}

/// Whether run_call may call q.force_push() (false for a queue type that rejects it at
/// compile time, such as a non-evicting Spsc BoundedQueue); specialize to turn it off.
template <class Q>
inline constexpr bool supports_force_push = true;

/// The items a batch push of call `value` offers: distinct from every single item (those are
/// below 10000) and from those of any other call.
inline std::vector<int> batch_values(int value, std::size_t size) {
  std::vector<int> values;
  for (std::size_t j = 0; j < size; ++j) values.push_back(10000 + value * 16 + static_cast<int>(j));
  return values;
}

/// Whether Q has the batch calls (plans for a queue without them must not ask for batches).
template <class Q>
inline constexpr bool has_batches = requires(Q& q, std::vector<typename Q::value_type>& v) {
  q.try_push_range(v);
  q.push_range(v);
  q.try_pop_into(std::back_inserter(v), std::size_t{1});
};

/// Runs `call` on `q` with item `value` (an item that fails if `fails`), filling in the
/// outputs of `op`. A push whose item's construction throws is recorded with `threw` set.
/// A batch offers `size` items (batch_values(value, size)) or asks for at most `size`.
template <class Q>
void run_call(Q& q, Call call, int value, Op& op, bool fails = false, std::size_t size = 0) {
  using namespace std::chrono_literals;
  using clock = std::chrono::steady_clock;
  using T = typename Q::value_type;
  using I = Items<T>;
  const auto item = [&] { return I::make(value, fails); };
  const auto popped = [](std::optional<T> out) -> std::optional<int> {
    if (!out) return std::nullopt;
    return I::value(*out);
  };
  op.label = label(call);
  op.value = value;
  std::vector<T> batch;
  std::vector<T> out;
  if (call == Call::try_push_range || call == Call::push_range) {
    op.values = batch_values(value, size);
    for (int v : op.values) batch.push_back(I::make(v, false));
  }
  out.reserve(size);
  const auto record_popped = [&](std::size_t n) {
    op.max = size;
    op.items.clear();
    for (const T& got : out) op.items.push_back(I::value(got));
    // A count that is not what it wrote: recorded as an item never pushed, so the history
    // fails the check.
    if (n != out.size()) op.items.push_back(-1);
  };
  (void)record_popped;  // (unused for a queue without batches)
  detail::eviction_sink = &op;
  try {
    switch (call) {
      case Call::push:
        op.kind = OpKind::push;
        op.result = q.push(item());
        break;
      case Call::push_copy: {
        op.kind = OpKind::push;
        const T copied = item();
        op.result = q.push(copied);
        break;
      }
      case Call::emplace:
        op.kind = OpKind::push;
        if constexpr (I::can_fail) {
          op.result = fails ? q.emplace(value, typename T::Fail{}) : q.emplace(value);
        } else {
          op.result = q.emplace(value);
        }
        break;
      case Call::push_for_zero:
        op.kind = OpKind::push;
        op.result = q.push_for(item(), 0ms);
        break;
      case Call::push_for_negative:
        op.kind = OpKind::push;
        op.result = q.push_for(item(), -5ms);
        break;
      case Call::push_for_short:
        op.kind = OpKind::push;
        op.result = q.push_for(item(), 200us);
        break;
      case Call::push_until_past:
        op.kind = OpKind::push;
        op.result = q.push_until(item(), clock::now() - 1s);
        break;
      case Call::push_until_short:
        op.kind = OpKind::push;
        op.result = q.push_until(item(), clock::now() + 200us);
        break;
      case Call::try_push:
        op.kind = OpKind::try_push;
        op.ok = q.try_push(item());
        break;
      case Call::try_emplace:
        op.kind = OpKind::try_push;
        if constexpr (I::can_fail) {
          op.ok = fails ? q.try_emplace(value, typename T::Fail{}) : q.try_emplace(value);
        } else {
          op.ok = q.try_emplace(value);
        }
        break;
      case Call::force_push: {
        op.kind = OpKind::force_push;
        if constexpr (supports_force_push<Q>) {
          auto r = q.force_push(item());
          op.result = r.result;
          // The returned item was the first one evicted; any later ones (when another
          // producer took the freed slot) went to the handler, which has appended them
          // already. (If the push throws, its victim goes to the handler too.)
          if (r.evicted) op.evicted.insert(op.evicted.begin(), I::value(*r.evicted));
        } else {
          op.kind = OpKind::push;  // Not reached: plans for such queues have no force_push.
          op.result = q.push(item());
        }
        break;
      }
      case Call::pop:
        op.kind = OpKind::pop;
        op.popped = popped(q.pop());
        break;
      case Call::try_pop:
        op.kind = OpKind::try_pop;
        op.popped = popped(q.try_pop());
        break;
      case Call::pop_for_zero:
        op.kind = OpKind::try_pop;
        op.popped = popped(q.pop_for(0ms));
        break;
      case Call::pop_for_negative:
        op.kind = OpKind::try_pop;
        op.popped = popped(q.pop_for(-5ms));
        break;
      case Call::pop_for_short:
        op.kind = OpKind::try_pop;
        op.popped = popped(q.pop_for(200us));
        break;
      case Call::pop_until_past:
        op.kind = OpKind::try_pop;
        op.popped = popped(q.pop_until(clock::now() - 1s));
        break;
      case Call::pop_until_short:
        op.kind = OpKind::try_pop;
        op.popped = popped(q.pop_until(clock::now() + 200us));
        break;
      case Call::close:
        op.kind = OpKind::close;
        q.close();
        break;
      default: break;
    }
    if constexpr (has_batches<Q>) {
      switch (call) {
        case Call::try_push_range:
          op.kind = OpKind::try_push_range;
          op.count = q.try_push_range(std::move(batch));
          break;
        case Call::push_range:
          op.kind = OpKind::push_range;
          op.count = q.push_range(batch);
          break;
        case Call::try_pop_into:
          op.kind = OpKind::try_pop_into;
          record_popped(q.try_pop_into(std::back_inserter(out), size));
          break;
        case Call::pop_into:
          op.kind = OpKind::pop_into;
          record_popped(q.pop_into(std::back_inserter(out), size));
          break;
        case Call::pop_into_for_zero:
          op.kind = OpKind::try_pop_into;
          record_popped(q.pop_into_for(std::back_inserter(out), size, 0ms));
          break;
        case Call::pop_into_for_short:
          op.kind = OpKind::try_pop_into;
          record_popped(q.pop_into_for(std::back_inserter(out), size, 200us));
          break;
        case Call::pop_into_until_past:
          op.kind = OpKind::try_pop_into;
          record_popped(q.pop_into_until(std::back_inserter(out), size, clock::now() - 1s));
          break;
        case Call::pop_into_until_short:
          op.kind = OpKind::try_pop_into;
          record_popped(q.pop_into_until(std::back_inserter(out), size, clock::now() + 200us));
          break;
        default: break;
      }
    }
  } catch (const ItemConstructionFailed&) {
    op.threw = true;  // op.kind was set before the call; op.evicted has what the handler got
  }
  detail::eviction_sink = nullptr;
}

/// Runs plans on fresh queues of type Q with a fixed set of worker threads.
/// Q must be constructible from (const QueueConfig&, handler) with bq::BoundedQueue's API.
template <class Q>
class Recorder {
 public:
  /// `configure` adjusts the config of each round's queue (e.g. sets QueueConfig::policy).
  /// A round still running after `round_limit` aborts the process, printing its plan: a
  /// call that never returns is a bug (a lost wake-up, a livelock), not a slow machine.
  explicit Recorder(std::size_t threads, std::function<void(QueueConfig&)> configure = {},
                    std::chrono::seconds round_limit = std::chrono::seconds(60))
      : configure_(std::move(configure)),
        round_limit_(round_limit),
        start_(threads + 1),
        ops_(threads) {
    for (std::size_t t = 0; t < threads; ++t) {
      workers_.emplace_back([this, t] { work(t); });
    }
  }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  ~Recorder() {
    stop_ = true;
    start_.arrive_and_wait();
    for (auto& w : workers_) w.join();
  }

  /// Runs `plan` on a new queue and returns the history.
  History run(const Plan& plan) {
    QueueConfig config;
    config.capacity = plan.capacity;
    config.block_timeout = plan.block_timeout;
    if (configure_) configure_(config);
    queue_ = std::make_unique<Q>(config, recording_handler<typename Q::value_type>());
    plan_ = &plan;
    clock_.store(0);
    History history;
    const int prefill_thread = static_cast<int>(workers_.size());
    for (int i = 0; i < plan.prefill; ++i) {
      Op op;
      op.thread = prefill_thread;
      op.invoke = clock_.fetch_add(1);
      run_call(*queue_, Call::try_push, 1000 + i, op);
      op.label = "prefill try_push";
      op.response = clock_.fetch_add(1);
      history.push_back(std::move(op));
    }
    {
      std::lock_guard lock(done_mutex_);
      running_ = workers_.size();
    }
    start_.arrive_and_wait();
    {
      std::unique_lock lock(done_mutex_);
      if (!done_cv_.wait_for(lock, round_limit_, [&] { return running_ == 0; })) {
        std::fprintf(stderr, "bq::lin::Recorder: a round did not finish within %llds; plan:\n%s",
                     static_cast<long long>(round_limit_.count()), describe(plan).c_str());
        std::abort();
      }
    }
    for (auto& ops : ops_) {
      for (auto& op : ops) history.push_back(std::move(op));
      ops.clear();
    }
    queue_.reset();
    return history;
  }

  /// The queue of the running round (valid only inside run()).
  Q& queue() { return *queue_; }

 private:
  void work(std::size_t t) {
    for (;;) {
      start_.arrive_and_wait();
      if (stop_) return;
      const auto& script = plan_->scripts[t];
      const auto& pauses = plan_->pauses[t];
      auto& ops = ops_[t];
      ops.reserve(script.size());
      for (std::size_t i = 0; i < script.size(); ++i) {
        detail::pause(pauses[i]);
        Op op;
        op.thread = static_cast<int>(t);
        const int value = static_cast<int>(t) * 100 + static_cast<int>(i) + 1;
        op.invoke = clock_.fetch_add(1);
        run_call(*queue_, script[i], value, op, plan_->fails(t, i), plan_->size(t, i));
        op.response = clock_.fetch_add(1);
        ops.push_back(std::move(op));
      }
      std::lock_guard lock(done_mutex_);
      if (--running_ == 0) done_cv_.notify_one();
    }
  }

  std::function<void(QueueConfig&)> configure_;
  std::chrono::seconds round_limit_;
  bq_test::RoundBarrier start_;  // not std::barrier: see its comment
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  std::size_t running_ = 0;
  std::vector<std::vector<Op>> ops_;
  std::vector<std::thread> workers_;
  std::unique_ptr<Q> queue_;
  const Plan* plan_ = nullptr;
  std::atomic<std::uint64_t> clock_{0};
  bool stop_ = false;
};

}  // namespace bq::lin
