// A linearizability checker for histories of a bounded FIFO queue.
//
// A history is the list of operations that some threads ran on one queue, each with the
// time it was invoked and the time it returned (both read from one shared atomic counter,
// so "a returned before b was invoked" is exact) and what it returned. check() searches for
// a total order of the operations that (1) respects real time: an operation that returned
// before another was invoked comes first, and (2) is a legal run of the sequential
// specification: a bounded FIFO of the given capacity whose pushes, when full, do what the
// policy says. It is Wing & Gong's search with Lowe's memoization: a configuration is
// (set of operations already placed, state of the sequential queue), and a configuration
// seen once is never explored again, which keeps short histories (tens of operations,
// 2-4 threads) cheap.
//
// Evictions can be checked two ways (Spec::evictions):
//  * atomic: a push that evicts does so in the same instant as it queues its item, so it
//    evicts exactly one item, and only when the queue is full at that instant;
//  * stepwise: each eviction is a step of its own (at its own instant inside the push's
//    interval, only while the queue is full and open), followed by the step that queues the
//    item (which needs room) or finds the queue closed. Other operations may run between the
//    steps, so one push may evict several items. This is what a queue that hands the evicted
//    item to a user callback before queueing the new one (and outside any lock) can promise.
//
// A push whose item's construction in the queue threw (Op::threw) queues nothing and
// reports no result. It has no effect, except that an evicting push into a full queue may
// have evicted the oldest item before its construction threw: that eviction stands (it is in
// Op::evicted, as for a push that queued its item). And the position it claimed may stay a
// "hole" for a while: a slot that holds no item, so it counts against the capacity (a later
// push may find the queue full with capacity-1 items), but no pop ever returns it and it is
// never evicted. So a push that threw is two steps: its effect (nothing, or its hole
// appended, into an open queue with room, after the eviction if any), and, still inside its
// interval, a settle step that may give the hole back if it is still the newest position
// (no later push claimed one), or leave it. A hole left at the front goes silently when a
// pop, or an evicting push that finds the queue full, passes it: the search may drop a front
// hole at any point where such an operation is running (invoked, not yet placed). Holes
// change only what counts as full, never which items are delivered or in what order; with
// Spec::holes false (a queue whose thrown pushes leave no trace) there are none.
//
// With Spec::pop_may_miss_pending, a try_pop kind may also return nothing while the queue
// holds something, provided the oldest entry's push had not returned when the pop was
// invoked: a queue whose pop gives up on a position still being written, after a bounded
// wait, gives exactly that answer (and only it) even when newer pushes have returned.
//
// Batch operations (try_push_range, push_range, the pop_into family) are checked as a
// sequence of single-item steps, each at its own instant inside the batch's interval, in
// the batch's order, with other operations free to run between them:
//  * a batch push that queued `count` of its `values` is `count` item steps (the i-th queues
//    values[i]: so only a prefix, in order), then a rest step. An item step needs an open
//    queue with room; a push_range item step under evict_oldest that finds it full evicts the
//    oldest in the same instant when evictions are atomic (the next of Op::evicted, in order),
//    while stepwise its evictions are steps of their own, in order, interleaved with its
//    item steps, all before its last item step. The rest step checks what the call reported for the
//    items not queued: none, or refused because the queue was closed (evict_oldest) or full or
//    closed (the others, and try_push_range, which never evicts).
//  * a batch pop that returned items is one step per item, oldest first (the i-th pops
//    items[i], which must be at the front then), and at most `max` of them; one that
//    returned none is one step with the answer of try_pop (try_pop_into, the timed ones) or
//    pop (pop_into) returning nothing.
// This is weaker than what the rings give (a batch pop claims its items with one CAS; a
// batch push claims what fits with one), so every correct queue passes; it still catches a
// batch that delivers items out of order, queues a non-prefix, pops more than asked, invents
// or loses items, or refuses items while there was room. A batch whose item's construction
// threw is not modelled (check() gives up on such a history).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <bq/policy.hpp>

namespace bq::lin {

/// What kind of call an operation was, as far as the sequential specification cares.
enum class OpKind : std::uint8_t {
  push,            ///< push, emplace, push_for, push_until: applies the policy when full.
  try_push,        ///< try_push, try_emplace: never evicts; `ok` is false when full or closed.
  force_push,      ///< force_push: evicts the oldest when full, whatever the policy.
  pop,             ///< pop(): returns nullopt only when the queue is closed and empty.
  try_pop,         ///< try_pop, pop_for, pop_until: returns nullopt when the queue is empty.
  close,           ///< close(): idempotent.
  try_push_range,  ///< try_push_range: queues a prefix of `values` that fits; never evicts.
  push_range,      ///< push_range: applies the policy item by item to what does not fit.
  try_pop_into,    ///< try_pop_into, pop_into_for, pop_into_until: up to `max` items, or none.
  pop_into,        ///< pop_into: up to `max` items; none only when closed and empty.
};

/// Whether `kind` is a batch push or pop.
inline constexpr bool is_batch(OpKind kind) noexcept { return kind >= OpKind::try_push_range; }

/// One completed operation of a history.
struct Op {
  OpKind kind = OpKind::close;
  int thread = 0;
  std::uint64_t invoke = 0;    ///< Clock value read just before the call.
  std::uint64_t response = 0;  ///< Clock value read just after the call returned.
  int value = 0;               ///< push kinds: the item offered (unique within a history).
  PushResult result = PushResult::pushed;  ///< push, force_push: what the call returned.
  bool ok = false;                         ///< try_push: what the call returned.
  bool threw = false;         ///< push kinds: the item's construction in the queue threw (then
                              ///< `result` and `ok` mean nothing; `evicted` still counts).
  std::optional<int> popped;  ///< pop, try_pop: what the call returned.
  std::vector<int> evicted;   ///< push, push_range: items given to the eviction handler during
                              ///< the call; force_push: the returned `.evicted`.
  std::vector<int> values;    ///< Batch pushes: the items offered, in order (unique).
  std::size_t count = 0;      ///< Batch pushes: what the call returned (items queued).
  std::size_t max = 0;        ///< Batch pops: the most items asked for.
  std::vector<int> items;     ///< Batch pops: the items returned, in order.
  std::string label;          ///< The call as written, for messages ("push_for(0ms)").
};

using History = std::vector<Op>;

/// What a policy-applying push does when it finds the queue full.
enum class WhenFull : std::uint8_t { evict_oldest, drop_newest, time_out };

/// Whether evictions are atomic with the push that causes them (see the file comment).
enum class Evictions : std::uint8_t { atomic, stepwise };

/// The sequential specification a history is checked against.
struct Spec {
  std::size_t capacity = 1;
  WhenFull when_full = WhenFull::evict_oldest;
  Evictions evictions = Evictions::atomic;
  /// Stepwise only: whether an eviction step needs the queue full (false: any non-empty
  /// queue) and open (false: also after close).
  bool evict_needs_full = true;
  bool evict_needs_open = true;
  /// Whether a push that threw may leave a hole (see the file comment); false for a queue
  /// whose thrown pushes leave no trace at all.
  bool holes = true;
  /// Whether a try_pop (or a timed pop that gives up) may return nothing while the oldest
  /// entry's push is still running (had not returned when the pop was invoked), even if
  /// newer pushes have completed: a queue whose pops give up on a slot still being
  /// written, after a bounded wait, rather than wait for its writer without limit.
  bool pop_may_miss_pending = false;
};

enum class Verdict : std::uint8_t { linearizable, not_linearizable, gave_up };

struct CheckResult {
  Verdict verdict = Verdict::linearizable;
  std::size_t configurations = 0;  ///< Distinct (placed set, queue state) pairs explored.
  std::size_t holes = 0;  ///< Linearizable: thrown pushes that left a hole in the order found
                          ///< (the search tries without first, but another order may need none).
  std::string message;    ///< For a failure: the history and the deepest order found.

  [[nodiscard]] bool ok() const noexcept { return verdict == Verdict::linearizable; }
};

/// Returns a one-line description of `op` ("t1 push(7) -> replaced_oldest evicted [3] @4..9").
inline std::string describe(const Op& op) {
  std::ostringstream out;
  out << 't' << op.thread << ' ';
  const auto print_evicted = [&] {
    if (op.evicted.empty()) return;
    out << " evicted [";
    for (std::size_t i = 0; i < op.evicted.size(); ++i) out << (i ? "," : "") << op.evicted[i];
    out << ']';
  };
  switch (op.kind) {
    case OpKind::push:
    case OpKind::force_push:
      out << (op.label.empty() ? (op.kind == OpKind::push ? "push" : "force_push") : op.label)
          << '(' << op.value << ") -> " << (op.threw ? "threw" : to_string(op.result));
      print_evicted();
      break;
    case OpKind::try_push:
      out << (op.label.empty() ? "try_push" : op.label) << '(' << op.value << ") -> "
          << (op.threw ? "threw"
              : op.ok  ? "true"
                       : "false");
      break;
    case OpKind::pop:
    case OpKind::try_pop:
      out << (op.label.empty() ? (op.kind == OpKind::pop ? "pop" : "try_pop") : op.label)
          << "() -> ";
      if (op.popped) {
        out << *op.popped;
      } else {
        out << "nullopt";
      }
      break;
    case OpKind::close: out << "close()"; break;
    case OpKind::try_push_range:
    case OpKind::push_range:
      out << (op.label.empty() ? (op.kind == OpKind::push_range ? "push_range" : "try_push_range")
                               : op.label)
          << "([";
      for (std::size_t i = 0; i < op.values.size(); ++i) out << (i ? "," : "") << op.values[i];
      out << "]) -> " << (op.threw ? std::string("threw") : std::to_string(op.count));
      print_evicted();
      break;
    case OpKind::try_pop_into:
    case OpKind::pop_into:
      out << (op.label.empty() ? (op.kind == OpKind::pop_into ? "pop_into" : "try_pop_into")
                               : op.label)
          << "(max " << op.max << ") -> [";
      for (std::size_t i = 0; i < op.items.size(); ++i) out << (i ? "," : "") << op.items[i];
      out << ']';
      break;
  }
  out << " @" << op.invoke << ".." << op.response;
  return out.str();
}

/// Returns the whole history, one operation a line, in invocation order.
inline std::string describe(const History& history) {
  std::vector<const Op*> sorted;
  sorted.reserve(history.size());
  for (const Op& op : history) sorted.push_back(&op);
  std::sort(sorted.begin(), sorted.end(),
            [](const Op* a, const Op* b) { return a->invoke < b->invoke; });
  std::string text;
  for (const Op* op : sorted) text += "  " + describe(*op) + '\n';
  return text;
}

namespace detail {

/// One place in the sequential queue: an item, or a hole (the slot of a push that threw,
/// which takes room but holds no item; `value` then names that push: see check()).
struct Entry {
  int value = 0;
  bool hole = false;
  /// When the push that put it here returned (Op::response): a function of value and
  /// hole, so it takes no part in comparisons.
  std::uint64_t pushed_by = 0;

  [[nodiscard]] bool is_item(int v) const noexcept { return !hole && value == v; }
  friend bool operator==(const Entry& a, const Entry& b) noexcept {
    return a.value == b.value && a.hole == b.hole;
  }
};

/// The state of the sequential queue: its items and holes, oldest first, and whether it is
/// closed.
struct QueueState {
  std::vector<Entry> items;
  bool closed = false;
  /// Per push_range (Step::batch): how many of its Op::evicted it has evicted so far.
  std::vector<std::size_t> batch_evicted;

  friend bool operator==(const QueueState&, const QueueState&) = default;
};

/// One indivisible step of the sequential specification. Most operations are one step;
/// under Evictions::stepwise a push that evicted k items is k `evict` steps and a `finish`;
/// a push that threw ends with a `settle` step (see apply()). A batch operation is `item`
/// steps (one per item queued or popped) and, for pushes or a pop that returned nothing, a
/// `rest` step (see the file comment).
enum class StepKind : std::uint8_t { whole, evict, finish, settle, item, rest };

struct Step {
  const Op* op = nullptr;
  StepKind kind = StepKind::whole;
  int evicted = 0;  ///< evict: the item this step must remove.
  int after = -1;   ///< Index of the step that must be placed before this one, or -1.
  std::uint64_t invoke = 0;
  std::uint64_t response = 0;
  int hole = 0;           ///< A push that threw: the name of its hole (unique in the history).
  int batch = -1;         ///< push_range: its index in QueueState::batch_evicted.
  int chain = 0;          ///< Steps of one op are ordered within a chain (evictions of a
                          ///< push_range are chain 1, its items chain 0).
  std::size_t index = 0;  ///< item: which item of the batch (its value is in `evicted`).
};

/// Whether `op` is a push that evicts the oldest item when it finds the queue full.
inline bool evicts_when_full(const Spec& spec, const Op& op) noexcept {
  return op.kind == OpKind::force_push ||
         (op.kind == OpKind::push && spec.when_full == WhenFull::evict_oldest);
}

/// Whether `state` holds the hole named `hole`.
inline bool has_hole(const QueueState& state, int hole) noexcept {
  return std::find(state.items.begin(), state.items.end(), Entry{hole, true}) != state.items.end();
}

/// The effect of a push that threw (after its evict steps, if stepwise): nothing, or (with
/// `choice`, into an open queue with room) its hole at the back.
inline bool apply_thrown(const Spec& spec, const Step& step, bool choice, QueueState& state) {
  if (!choice) return true;
  if (state.closed || state.items.size() >= spec.capacity) return false;
  state.items.push_back({step.hole, true, step.op->response});
  return true;
}

/// Applies `step` to `state`; returns false (state unspecified) if the specification does
/// not allow the step with the result the history recorded. `choice` is for the steps of a
/// push that threw: for its last effect step (whole or finish), whether its position stays
/// a hole; for its settle step, whether it gives that position back.
inline bool apply(const Spec& spec, const Step& step, QueueState& state, bool choice = false) {
  const Op& op = *step.op;
  auto& items = state.items;
  const bool full = items.size() >= spec.capacity;
  const auto pop_front = [&] { items.erase(items.begin()); };
  const auto front_is = [&](int v) { return !items.empty() && items.front().is_item(v); };

  if (step.kind == StepKind::item) {
    const int value = step.evicted;
    switch (op.kind) {
      case OpKind::try_push_range:
        if (state.closed || full) return false;
        items.push_back({value, false, op.response});
        return true;
      case OpKind::push_range:
        if (state.closed) return false;
        // Stepwise, every eviction makes room for one of the batch's items: all are done
        // before its last item is queued.
        if (spec.evictions == Evictions::stepwise && step.index + 1 == op.count &&
            state.batch_evicted[static_cast<std::size_t>(step.batch)] != op.evicted.size()) {
          return false;
        }
        if (full) {
          // Only an atomic eviction makes room in the same instant (stepwise, it is a step
          // of its own before this one).
          if (spec.when_full != WhenFull::evict_oldest || spec.evictions != Evictions::atomic) {
            return false;
          }
          std::size_t& done = state.batch_evicted[static_cast<std::size_t>(step.batch)];
          if (done >= op.evicted.size() || !front_is(op.evicted[done])) return false;
          pop_front();
          ++done;
        }
        items.push_back({value, false, op.response});
        return true;
      case OpKind::try_pop_into:
      case OpKind::pop_into:
        if (step.index >= op.max || !front_is(value)) return false;
        pop_front();
        return true;
      default: return false;
    }
  }
  if (step.kind == StepKind::rest) {
    switch (op.kind) {
      case OpKind::try_push_range:
      case OpKind::push_range: {
        if (op.count > op.values.size()) return false;
        if (op.kind == OpKind::try_push_range && !op.evicted.empty()) return false;
        if (op.kind == OpKind::push_range &&
            state.batch_evicted[static_cast<std::size_t>(step.batch)] != op.evicted.size()) {
          return false;
        }
        if (op.count == op.values.size()) return true;
        // The items not queued were refused: after close, or (not evicting) when full.
        if (op.kind == OpKind::push_range && spec.when_full == WhenFull::evict_oldest) {
          return state.closed;
        }
        return state.closed || full;
      }
      case OpKind::try_pop_into:
      case OpKind::pop_into:
        // Returned nothing: as try_pop or pop returning nullopt (max 0: always).
        if (!op.items.empty()) return false;
        if (op.max == 0 || (items.empty() && (op.kind == OpKind::try_pop_into || state.closed))) {
          return true;
        }
        return !items.empty() && op.kind == OpKind::try_pop_into && spec.pop_may_miss_pending &&
               items.front().pushed_by > op.invoke;
      default: return false;
    }
  }
  if (step.kind == StepKind::settle) {
    // Before its push returns, a hole that is still the newest position may be given back
    // (no later push claimed one: the ring moves its tail back), or it stays.
    if (!choice) return true;
    if (items.empty() || items.back() != Entry{step.hole, true}) return false;
    items.pop_back();
    return true;
  }
  if (step.kind == StepKind::evict) {
    if (op.kind == OpKind::push_range && spec.when_full != WhenFull::evict_oldest) return false;
    if (!front_is(step.evicted)) return false;
    if ((spec.evict_needs_full && !full) || (spec.evict_needs_open && state.closed)) return false;
    if (op.kind == OpKind::push_range) ++state.batch_evicted[static_cast<std::size_t>(step.batch)];
    pop_front();
    return true;
  }
  if (step.kind == StepKind::finish) {
    // A push that evicted before this step: it queues its item if there is room now, or
    // reports closed. (Were the queue full again, the push would have evicted again.)
    // One that threw found room too, and its construction failed there.
    if (op.threw) return !state.closed && !full && apply_thrown(spec, step, choice, state);
    if (state.closed) return op.result == PushResult::closed;
    if (full || op.result != PushResult::replaced_oldest) return false;
    items.push_back({op.value, false, op.response});
    return true;
  }

  if (op.threw) {
    // Evicted the oldest of a full, open queue before its construction threw, or nothing.
    if (!op.evicted.empty()) {
      if (!evicts_when_full(spec, op) || state.closed || !full || op.evicted.size() != 1 ||
          !front_is(op.evicted.front())) {
        return false;
      }
      pop_front();
    }
    return apply_thrown(spec, step, choice, state);
  }

  switch (op.kind) {
    case OpKind::push:
    case OpKind::force_push: {
      if (state.closed) return op.result == PushResult::closed && op.evicted.empty();
      if (!full) {
        if (op.result != PushResult::pushed || !op.evicted.empty()) return false;
        items.push_back({op.value, false, op.response});
        return true;
      }
      const WhenFull action =
          op.kind == OpKind::force_push ? WhenFull::evict_oldest : spec.when_full;
      switch (action) {
        case WhenFull::evict_oldest:
          if (op.result != PushResult::replaced_oldest || op.evicted.size() != 1 ||
              !front_is(op.evicted.front())) {
            return false;
          }
          pop_front();
          items.push_back({op.value, false, op.response});
          return true;
        case WhenFull::drop_newest:
          return op.result == PushResult::dropped_newest && op.evicted.empty();
        case WhenFull::time_out: return op.result == PushResult::timed_out && op.evicted.empty();
      }
      return false;
    }
    case OpKind::try_push:
      if (state.closed || full) return !op.ok;
      if (!op.ok) return false;
      items.push_back({op.value, false, op.response});
      return true;
    case OpKind::pop:
    case OpKind::try_pop:
      if (items.empty()) return !op.popped && (op.kind == OpKind::try_pop || state.closed);
      if (!op.popped) {
        // Nothing, although the queue holds something: allowed only where the queue may
        // give up on an oldest position whose push was still running when it looked.
        return op.kind == OpKind::try_pop && spec.pop_may_miss_pending &&
               items.front().pushed_by > op.invoke;
      }
      if (!front_is(*op.popped)) return false;
      pop_front();
      return true;
    case OpKind::close: state.closed = true; return true;
    default: return false;  // batch operations have only item, evict and rest steps
  }
  return false;
}

/// The set of steps already placed, as a fixed bitset (histories are short).
class StepSet {
 public:
  static constexpr std::size_t kMaxSteps = 512;

  [[nodiscard]] bool test(std::size_t i) const noexcept {
    return (words_[i / 64] >> (i % 64) & 1U) != 0;
  }
  void flip(std::size_t i) noexcept { words_[i / 64] ^= std::uint64_t{1} << (i % 64); }
  [[nodiscard]] std::size_t hash() const noexcept {
    std::size_t h = 0;
    for (std::uint64_t w : words_) h = h * 0x9E3779B97F4A7C15ULL + static_cast<std::size_t>(w);
    return h;
  }
  friend bool operator==(const StepSet&, const StepSet&) = default;

 private:
  std::array<std::uint64_t, kMaxSteps / 64> words_{};
};

struct Configuration {
  StepSet placed;
  QueueState state;
  friend bool operator==(const Configuration&, const Configuration&) = default;
};

struct ConfigurationHash {
  std::size_t operator()(const Configuration& c) const noexcept {
    std::size_t h = c.placed.hash() ^ (c.state.closed ? 0x5bd1e995U : 0U);
    for (std::size_t n : c.state.batch_evicted) h = (h ^ n) * 0x100000001B3ULL;
    for (const Entry& e : c.state.items) {
      const auto v = static_cast<std::size_t>(static_cast<unsigned>(e.value)) * 2 + e.hole;
      h = (h ^ v) * 0x100000001B3ULL;
    }
    return h;
  }
};

/// Depth-first search over configurations (see the file comment).
class Search {
 public:
  Search(const Spec& spec, std::vector<Step> steps, std::size_t budget, std::size_t batches = 0)
      : spec_(spec), steps_(std::move(steps)), budget_(budget), batches_(batches) {
    std::stable_sort(steps_.begin(), steps_.end(), [](const Step& a, const Step& b) {
      return a.invoke != b.invoke ? a.invoke < b.invoke : a.kind < b.kind;
    });
    // Re-link `after` to the sorted positions: the steps of one push share an interval and
    // keep their relative order (evict steps in eviction order, then finish or whole, then
    // settle; a batch's item steps in item order, then its rest step), each chain apart.
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      steps_[i].after = -1;
      for (std::size_t j = i; j-- > 0;) {
        if (steps_[j].op == steps_[i].op && steps_[j].chain == steps_[i].chain) {
          steps_[i].after = static_cast<int>(j);
          break;
        }
      }
    }
  }

  CheckResult run() {
    CheckResult result;
    Configuration start;
    start.state.batch_evicted.resize(batches_);
    const bool found = dfs(start, 0);
    result.configurations = seen_.size();
    if (found) {
      result.holes = static_cast<std::size_t>(
          std::count_if(order_.begin(), order_.end(), [&](const Placed& p) {
            return p.choice && p.step != kSkipHole && steps_[p.step].kind != StepKind::settle;
          }));
      return result;
    }
    result.verdict = gave_up_ ? Verdict::gave_up : Verdict::not_linearizable;
    std::ostringstream out;
    out << (gave_up_ ? "gave up after " : "no linearization; explored ") << seen_.size()
        << " configurations\nhistory:\n";
    std::vector<const Op*> ops;
    for (const Step& s : steps_) {
      if (std::find(ops.begin(), ops.end(), s.op) == ops.end()) ops.push_back(s.op);
    }
    for (const Op* op : ops) out << "  " << describe(*op) << '\n';
    out << "longest legal order found (" << deepest_depth_ << " of " << steps_.size()
        << " steps):\n";
    for (const Placed& p : deepest_order_) {
      if (p.step == kSkipHole) {
        out << "  (a running pop or evicting push passes the hole at the front)\n";
        continue;
      }
      const Step& step = steps_[p.step];
      if (step.kind == StepKind::settle && !p.choice) continue;  // (changes nothing)
      out << "  " << describe(*step.op);
      if (step.kind == StepKind::evict) out << "  [evict " << step.evicted << ']';
      if (step.kind == StepKind::finish) out << "  [queue the item]";
      if (step.kind == StepKind::settle) out << "  [gives its hole back]";
      if (step.kind == StepKind::item) out << "  [item " << step.evicted << ']';
      if (step.kind == StepKind::rest) out << "  [the rest]";
      if (step.kind != StepKind::settle && p.choice) out << "  [leaves a hole]";
      out << '\n';
    }
    out << "queue then: [";
    for (std::size_t i = 0; i < deepest_state_.items.size(); ++i) {
      const Entry& e = deepest_state_.items[i];
      out << (i ? "," : "");
      if (e.hole) {
        // Named by the item its push offered.
        const auto owner = std::find_if(steps_.begin(), steps_.end(),
                                        [&](const Step& st) { return st.hole == e.value; });
        out << "hole(" << (owner != steps_.end() ? owner->op->value : e.value) << ')';
      } else {
        out << e.value;
      }
    }
    out << ']' << (deepest_state_.closed ? " closed" : "") << '\n';
    result.message = out.str();
    return result;
  }

 private:
  /// One entry of the order being built: a step and its choice (see apply()), or
  /// kSkipHole: a front hole passed.
  struct Placed {
    std::size_t step = 0;
    bool choice = false;
  };
  static constexpr std::size_t kSkipHole = std::numeric_limits<std::size_t>::max();

  /// Whether `step` may be applied with either choice, in `state`.
  bool has_choice(const Step& step, const QueueState& state) const noexcept {
    if (!step.op->threw || !spec_.holes) return false;
    switch (step.kind) {
      case StepKind::whole:
      case StepKind::finish: return true;
      case StepKind::settle: return has_hole(state, step.hole);
      case StepKind::evict:
      case StepKind::item:
      case StepKind::rest: return false;
    }
    return false;
  }

  /// Whether the operation of unplaced `step`, while running, may pass a hole at the front:
  /// a pop always; a push that evicts when full only when the queue is full, and not once
  /// it has taken effect (only its settle step is left).
  bool passes_holes(const Step& step, const QueueState& state) const noexcept {
    if (step.kind == StepKind::settle) return false;
    const OpKind kind = step.op->kind;
    if (kind == OpKind::pop || kind == OpKind::try_pop || kind == OpKind::pop_into ||
        kind == OpKind::try_pop_into) {
      return true;
    }
    const bool evicting = evicts_when_full(spec_, *step.op) ||
                          (kind == OpKind::push_range && spec_.when_full == WhenFull::evict_oldest);
    return evicting && state.items.size() >= spec_.capacity;
  }

  bool dfs(Configuration& config, std::size_t depth) {
    if (depth == steps_.size()) return true;
    if (!seen_.insert(config).second) return false;
    if (seen_.size() > budget_) {
      gave_up_ = true;
      return false;
    }
    if (depth > deepest_depth_ || deepest_order_.empty()) {
      deepest_depth_ = depth;
      deepest_order_ = order_;
      deepest_state_ = config.state;
    }
    // A step may go next only if no unplaced step returned before it was invoked.
    std::uint64_t min_response = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      if (!config.placed.test(i)) min_response = std::min(min_response, steps_[i].response);
    }
    bool hole_may_go = false;        // whether a running operation may pass a front hole now
    std::size_t forced = kSkipHole;  // an eligible step that changes nothing, if any
    for (std::size_t i = 0; i < steps_.size() && steps_[i].invoke < min_response; ++i) {
      const Step& step = steps_[i];
      if (config.placed.test(i)) continue;
      hole_may_go = hole_may_go || passes_holes(step, config.state);
      if (step.after >= 0 && !config.placed.test(static_cast<std::size_t>(step.after))) continue;
      // The settle step of a push with no hole changes nothing: placing it as soon as it may
      // go loses no order (it only stops constraining which steps may go next).
      if (step.kind == StepKind::settle && !has_hole(config.state, step.hole)) forced = i;
    }
    const auto place = [&](std::size_t i, bool choice) {
      QueueState saved = config.state;
      if (apply(spec_, steps_[i], config.state, choice)) {
        config.placed.flip(i);
        order_.push_back({i, choice});
        if (dfs(config, depth + 1)) return true;
        order_.pop_back();
        config.placed.flip(i);
      }
      config.state = std::move(saved);
      return false;
    };
    if (forced != kSkipHole) return place(forced, false);
    for (std::size_t i = 0; i < steps_.size() && steps_[i].invoke < min_response; ++i) {
      const Step& step = steps_[i];
      if (config.placed.test(i)) continue;
      if (step.after >= 0 && !config.placed.test(static_cast<std::size_t>(step.after))) continue;
      if (place(i, false)) return true;
      if (gave_up_) return false;
      if (has_choice(step, config.state) && place(i, true)) return true;
      if (gave_up_) return false;
    }
    // The front hole goes, passed by a running pop or evicting push, with no step placed.
    auto& items = config.state.items;
    if (hole_may_go && !items.empty() && items.front().hole) {
      const Entry hole = items.front();
      items.erase(items.begin());
      order_.push_back({kSkipHole, false});
      if (dfs(config, depth)) return true;
      order_.pop_back();
      items.insert(items.begin(), hole);
    }
    return false;
  }

  Spec spec_;
  std::vector<Step> steps_;
  std::size_t budget_;
  std::size_t batches_;
  std::unordered_set<Configuration, ConfigurationHash> seen_;
  std::vector<Placed> order_;
  std::vector<Placed> deepest_order_;
  std::size_t deepest_depth_ = 0;
  QueueState deepest_state_;
  bool gave_up_ = false;
};

}  // namespace detail

/// Returns whether `history` is linearizable with respect to `spec`; on failure the message
/// lists the history and the longest legal order the search found. Gives up (Verdict::gave_up)
/// after exploring `budget` configurations.
inline CheckResult check(const History& history, const Spec& spec, std::size_t budget = 2'000'000) {
  std::vector<detail::Step> steps;
  steps.reserve(history.size() + 8);
  int batches = 0;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Op& op = history[i];
    const int hole = static_cast<int>(i);  // names the hole a push that threw may leave
    if (is_batch(op.kind)) {
      if (op.threw) {
        CheckResult result;
        result.verdict = Verdict::gave_up;
        result.message = "a batch whose item's construction threw: not modelled\n" + describe(op);
        return result;
      }
      using detail::StepKind;
      const bool pushes = op.kind == OpKind::try_push_range || op.kind == OpKind::push_range;
      const int batch = op.kind == OpKind::push_range ? batches++ : -1;
      const auto add = [&](StepKind kind, int value, int chain, std::size_t index) {
        detail::Step step{&op, kind, value, -1, op.invoke, op.response, hole};
        step.batch = batch;
        step.chain = chain;
        step.index = index;
        steps.push_back(step);
      };
      if (op.kind == OpKind::push_range && spec.evictions == Evictions::stepwise) {
        for (std::size_t k = 0; k < op.evicted.size(); ++k) {
          add(StepKind::evict, op.evicted[k], 1, k);
        }
      }
      if (pushes) {
        // (A count larger than the batch is refused by the rest step.)
        const std::size_t queued = std::min(op.count, op.values.size());
        for (std::size_t k = 0; k < queued; ++k) add(StepKind::item, op.values[k], 0, k);
        add(StepKind::rest, 0, 0, queued);
      } else {
        for (std::size_t k = 0; k < op.items.size(); ++k) {
          add(StepKind::item, op.items[k], 0, k);
        }
        if (op.items.empty()) add(StepKind::rest, 0, 0, 0);
      }
      continue;
    }
    const bool evicting = op.kind == OpKind::push || op.kind == OpKind::force_push;
    if (spec.evictions == Evictions::stepwise && evicting && !op.evicted.empty()) {
      for (int item : op.evicted) {
        steps.push_back({&op, detail::StepKind::evict, item, -1, op.invoke, op.response, hole});
      }
      steps.push_back({&op, detail::StepKind::finish, 0, -1, op.invoke, op.response, hole});
    } else {
      steps.push_back({&op, detail::StepKind::whole, 0, -1, op.invoke, op.response, hole});
    }
    if (op.threw) {
      steps.push_back({&op, detail::StepKind::settle, 0, -1, op.invoke, op.response, hole});
    }
  }
  if (steps.size() > detail::StepSet::kMaxSteps) {
    CheckResult result;
    result.verdict = Verdict::gave_up;
    result.message = "history too long for the checker";
    return result;
  }
  return detail::Search(spec, std::move(steps), budget, static_cast<std::size_t>(batches)).run();
}

}  // namespace bq::lin
