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
  push,        ///< push, emplace, push_for, push_until: applies the policy when full.
  try_push,    ///< try_push, try_emplace: never evicts; `ok` is false when full or closed.
  force_push,  ///< force_push: evicts the oldest when full, whatever the policy.
  pop,         ///< pop(): returns nullopt only when the queue is closed and empty.
  try_pop,     ///< try_pop, pop_for, pop_until: returns nullopt when the queue is empty.
  close,       ///< close(): idempotent.
};

/// One completed operation of a history.
struct Op {
  OpKind kind = OpKind::close;
  int thread = 0;
  std::uint64_t invoke = 0;    ///< Clock value read just before the call.
  std::uint64_t response = 0;  ///< Clock value read just after the call returned.
  int value = 0;               ///< push kinds: the item offered (unique within a history).
  PushResult result = PushResult::pushed;  ///< push, force_push: what the call returned.
  bool ok = false;                         ///< try_push: what the call returned.
  std::optional<int> popped;               ///< pop, try_pop: what the call returned.
  std::vector<int> evicted;  ///< push: items given to the eviction handler during the call;
                             ///< force_push: the returned `.evicted`.
  std::string label;         ///< The call as written, for messages ("push_for(0ms)").
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
};

enum class Verdict : std::uint8_t { linearizable, not_linearizable, gave_up };

struct CheckResult {
  Verdict verdict = Verdict::linearizable;
  std::size_t configurations = 0;  ///< Distinct (placed set, queue state) pairs explored.
  std::string message;             ///< For a failure: the history and the deepest order found.

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
          << '(' << op.value << ") -> " << to_string(op.result);
      print_evicted();
      break;
    case OpKind::try_push:
      out << (op.label.empty() ? "try_push" : op.label) << '(' << op.value << ") -> "
          << (op.ok ? "true" : "false");
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

/// The state of the sequential queue: its items, oldest first, and whether it is closed.
struct QueueState {
  std::vector<int> items;
  bool closed = false;

  friend bool operator==(const QueueState&, const QueueState&) = default;
};

/// One indivisible step of the sequential specification. Most operations are one step;
/// under Evictions::stepwise a push that evicted k items is k `evict` steps and a `finish`.
enum class StepKind : std::uint8_t { whole, evict, finish };

struct Step {
  const Op* op = nullptr;
  StepKind kind = StepKind::whole;
  int evicted = 0;  ///< evict: the item this step must remove.
  int after = -1;   ///< Index of the step that must be placed before this one, or -1.
  std::uint64_t invoke = 0;
  std::uint64_t response = 0;
};

/// Applies `step` to `state`; returns false (state unspecified) if the specification does
/// not allow the step with the result the history recorded.
inline bool apply(const Spec& spec, const Step& step, QueueState& state) {
  const Op& op = *step.op;
  auto& items = state.items;
  const bool full = items.size() >= spec.capacity;
  const auto pop_front = [&] { items.erase(items.begin()); };

  if (step.kind == StepKind::evict) {
    if (items.empty() || items.front() != step.evicted) return false;
    if ((spec.evict_needs_full && !full) || (spec.evict_needs_open && state.closed)) return false;
    pop_front();
    return true;
  }
  if (step.kind == StepKind::finish) {
    // A push that evicted before this step: it queues its item if there is room now, or
    // reports closed. (Were the queue full again, the push would have evicted again.)
    if (state.closed) return op.result == PushResult::closed;
    if (full || op.result != PushResult::replaced_oldest) return false;
    items.push_back(op.value);
    return true;
  }

  switch (op.kind) {
    case OpKind::push:
    case OpKind::force_push: {
      if (state.closed) return op.result == PushResult::closed && op.evicted.empty();
      if (!full) {
        if (op.result != PushResult::pushed || !op.evicted.empty()) return false;
        items.push_back(op.value);
        return true;
      }
      const WhenFull action =
          op.kind == OpKind::force_push ? WhenFull::evict_oldest : spec.when_full;
      switch (action) {
        case WhenFull::evict_oldest:
          if (op.result != PushResult::replaced_oldest || op.evicted.size() != 1 ||
              op.evicted.front() != items.front()) {
            return false;
          }
          pop_front();
          items.push_back(op.value);
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
      items.push_back(op.value);
      return true;
    case OpKind::pop:
    case OpKind::try_pop:
      if (items.empty()) return !op.popped && (op.kind == OpKind::try_pop || state.closed);
      if (!op.popped || *op.popped != items.front()) return false;
      pop_front();
      return true;
    case OpKind::close: state.closed = true; return true;
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
    for (int item : c.state.items) {
      h = (h ^ static_cast<std::size_t>(static_cast<unsigned>(item))) * 0x100000001B3ULL;
    }
    return h;
  }
};

/// Depth-first search over configurations (see the file comment).
class Search {
 public:
  Search(const Spec& spec, std::vector<Step> steps, std::size_t budget)
      : spec_(spec), steps_(std::move(steps)), budget_(budget) {
    std::stable_sort(steps_.begin(), steps_.end(), [](const Step& a, const Step& b) {
      return a.invoke != b.invoke ? a.invoke < b.invoke : a.kind < b.kind;
    });
    // Re-link `after` to the sorted positions: the steps of one push share an interval and
    // keep their relative order (evict steps in eviction order, then finish).
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      steps_[i].after = -1;
      for (std::size_t j = i; j-- > 0;) {
        if (steps_[j].op == steps_[i].op) {
          steps_[i].after = static_cast<int>(j);
          break;
        }
      }
    }
  }

  CheckResult run() {
    CheckResult result;
    Configuration start;
    const bool found = dfs(start, 0);
    result.configurations = seen_.size();
    if (found) return result;
    result.verdict = gave_up_ ? Verdict::gave_up : Verdict::not_linearizable;
    std::ostringstream out;
    out << (gave_up_ ? "gave up after " : "no linearization; explored ") << seen_.size()
        << " configurations\nhistory:\n";
    std::vector<const Op*> ops;
    for (const Step& s : steps_) {
      if (std::find(ops.begin(), ops.end(), s.op) == ops.end()) ops.push_back(s.op);
    }
    for (const Op* op : ops) out << "  " << describe(*op) << '\n';
    out << "longest legal order found (" << deepest_order_.size() << " of " << steps_.size()
        << " steps):\n";
    for (std::size_t i : deepest_order_) {
      out << "  " << describe(*steps_[i].op);
      if (steps_[i].kind == StepKind::evict) out << "  [evict " << steps_[i].evicted << ']';
      if (steps_[i].kind == StepKind::finish) out << "  [queue the item]";
      out << '\n';
    }
    out << "queue then: [";
    for (std::size_t i = 0; i < deepest_state_.items.size(); ++i) {
      out << (i ? "," : "") << deepest_state_.items[i];
    }
    out << ']' << (deepest_state_.closed ? " closed" : "") << '\n';
    result.message = out.str();
    return result;
  }

 private:
  bool dfs(Configuration& config, std::size_t depth) {
    if (depth == steps_.size()) return true;
    if (!seen_.insert(config).second) return false;
    if (seen_.size() > budget_) {
      gave_up_ = true;
      return false;
    }
    if (depth > deepest_order_.size() || deepest_order_.empty()) {
      deepest_order_ = order_;
      deepest_state_ = config.state;
    }
    // A step may go next only if no unplaced step returned before it was invoked.
    std::uint64_t min_response = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      if (!config.placed.test(i)) min_response = std::min(min_response, steps_[i].response);
    }
    for (std::size_t i = 0; i < steps_.size() && steps_[i].invoke < min_response; ++i) {
      const Step& step = steps_[i];
      if (config.placed.test(i)) continue;
      if (step.after >= 0 && !config.placed.test(static_cast<std::size_t>(step.after))) continue;
      QueueState saved = config.state;
      if (apply(spec_, step, config.state)) {
        config.placed.flip(i);
        order_.push_back(i);
        if (dfs(config, depth + 1)) return true;
        order_.pop_back();
        config.placed.flip(i);
        if (gave_up_) return false;
      }
      config.state = std::move(saved);
    }
    return false;
  }

  Spec spec_;
  std::vector<Step> steps_;
  std::size_t budget_;
  std::unordered_set<Configuration, ConfigurationHash> seen_;
  std::vector<std::size_t> order_;
  std::vector<std::size_t> deepest_order_;
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
  for (const Op& op : history) {
    const bool evicting = op.kind == OpKind::push || op.kind == OpKind::force_push;
    if (spec.evictions == Evictions::stepwise && evicting && !op.evicted.empty()) {
      for (int item : op.evicted) {
        steps.push_back({&op, detail::StepKind::evict, item, -1, op.invoke, op.response});
      }
      steps.push_back({&op, detail::StepKind::finish, 0, -1, op.invoke, op.response});
    } else {
      steps.push_back({&op, detail::StepKind::whole, 0, -1, op.invoke, op.response});
    }
  }
  if (steps.size() > detail::StepSet::kMaxSteps) {
    CheckResult result;
    result.verdict = Verdict::gave_up;
    result.message = "history too long for the checker";
    return result;
  }
  return detail::Search(spec, std::move(steps), budget).run();
}

}  // namespace bq::lin
