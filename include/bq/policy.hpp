// Overflow policies: what BoundedQueue::push does when the queue is full.
//
// A policy is a small type that the queue asks, each time a push finds the
// queue full, what to do. The built-in ones cover the common cases; users write
// their own with the same interface:
//
//   struct MyPolicy {
//     // Optional: false lets the queue skip the eviction machinery (default true).
//     static constexpr bool may_evict = false;
//     // Optional: a constructor taking the queue's config (else default-constructed).
//     explicit MyPolicy(const bq::QueueConfig&);
//     // Required. Called with deadline_passed == false when a push first finds the
//     // queue full, and with true once a push that waited reached its deadline
//     // (a zero or past timeout counts as reached at once). Returning `wait` with
//     // deadline_passed == true is treated as `time_out`. A value that is not a
//     // FullAction, or evict_oldest when may_evict is false, makes the push throw
//     // std::logic_error (the item stays the caller's).
//     bq::FullAction on_full(bool deadline_passed) const noexcept;
//   };
//   static_assert(bq::QueuePolicy<MyPolicy>);  // the message here, not deep in the queue
//
// The concept QueuePolicy names that interface; BoundedQueue checks it too.
//
// Words: to "evict" is to push the oldest queued item out to make room; the item is
// gone. DropOldest (alias EvictOldest) evicts, FullAction::evict_oldest asks for it,
// and the push returns PushResult::replaced_oldest. A "refused" item is returned to
// the caller (dropped_newest, timed_out, closed). See the glossary in metrics.hpp.
#pragma once

#include <concepts>
#include <string_view>
#include <type_traits>

#include "queue_config.hpp"

namespace bq {

/// The outcome of a push.
enum class PushResult {
  pushed,           ///< The item was queued.
  replaced_oldest,  ///< The item was queued and the oldest item was evicted to make room.
  dropped_newest,   ///< The queue was full; the item was not queued (the caller keeps it).
  timed_out,        ///< The queue stayed full until the deadline; the caller keeps the item.
  closed,           ///< The queue is closed; the caller keeps the item.
  cancelled,        ///< A stop was requested while the push waited; the caller keeps the
                    ///< item. Not a drop: counted in no metric (only the std::stop_token
                    ///< overloads return it).
};

/// Returns true if the push queued its item (`pushed` or `replaced_oldest`).
[[nodiscard]] constexpr bool accepted(PushResult result) noexcept {
  return result == PushResult::pushed || result == PushResult::replaced_oldest;
}

/// Returns "pushed", "replaced_oldest", "dropped_newest", "timed_out", "closed" or "cancelled".
[[nodiscard]] constexpr std::string_view to_string(PushResult result) noexcept {
  switch (result) {
    case PushResult::pushed: return "pushed";
    case PushResult::replaced_oldest: return "replaced_oldest";
    case PushResult::dropped_newest: return "dropped_newest";
    case PushResult::timed_out: return "timed_out";
    case PushResult::closed: return "closed";
    case PushResult::cancelled: return "cancelled";
  }
  return "unknown";
}

/// What a policy tells a push to do when the queue is full.
enum class FullAction {
  evict_oldest,  ///< Evict the oldest item (to the eviction handler) and retry.
  drop_newest,   ///< Give up: the push returns `dropped_newest`.
  wait,          ///< Wait for room until the push's deadline, then ask again.
  time_out,      ///< Give up: the push returns `timed_out`.
};

namespace detail {

/// True if Policy has a `may_evict` member.
template <class Policy>
concept has_may_evict = requires {
  Policy::may_evict;
};

/// True if Policy has no `may_evict`, or one that is a constant expression.
template <class Policy>
concept constant_may_evict = !has_may_evict<Policy> || requires {
  typename std::bool_constant<static_cast<bool>(Policy::may_evict)>;
};

}  // namespace detail

/// What BoundedQueue requires of its Policy: a `FullAction on_full(bool
/// deadline_passed) const`, and, if it has a `may_evict` member, one that is a
/// constant convertible to bool. Check a policy of your own where you define it:
/// `static_assert(bq::QueuePolicy<MyPolicy>);`.
template <class Policy>
concept QueuePolicy = std::is_object_v<Policy> && detail::constant_may_evict<Policy> &&
    requires(const Policy& policy) {
  { policy.on_full(true) } -> std::same_as<FullAction>;
};

/// When full: evicts the oldest item and queues the new one. Never waits.
struct DropOldest {
  static constexpr bool may_evict = true;
  [[nodiscard]] constexpr FullAction on_full(bool /*deadline_passed*/) const noexcept {
    return FullAction::evict_oldest;
  }
};

/// The same policy under the glossary's word (metrics.hpp): when full, evicts the oldest.
using EvictOldest = DropOldest;

/// When full: refuses the new item; the caller keeps it. Never waits.
struct DropNewest {
  static constexpr bool may_evict = false;
  [[nodiscard]] constexpr FullAction on_full(bool /*deadline_passed*/) const noexcept {
    return FullAction::drop_newest;
  }
};

/// When full: waits for room until the deadline (QueueConfig::block_timeout for
/// push(), the given one for push_for/push_until), then returns `timed_out`.
struct Block {
  static constexpr bool may_evict = false;
  [[nodiscard]] constexpr FullAction on_full(bool deadline_passed) const noexcept {
    return deadline_passed ? FullAction::time_out : FullAction::wait;
  }
};

namespace detail {

template <class Policy>
constexpr bool policy_may_evict() noexcept {
  if constexpr (requires { Policy::may_evict; }) {
    return Policy::may_evict;
  } else {
    return true;  // Unknown: assume it may, which is always safe.
  }
}

/// Builds a policy from the queue's config when it has such a constructor.
template <class Policy>
Policy make_policy(const QueueConfig& config) {
  if constexpr (std::is_constructible_v<Policy, const QueueConfig&>) {
    return Policy(config);
  } else {
    return Policy{};
  }
}

}  // namespace detail

/// When full: waits like Block until the deadline, then does what `Then` does
/// (`BlockThen<DropOldest>` evicts the oldest and returns `replaced_oldest`).
/// If room appears during the wait, the push returns `pushed`.
template <QueuePolicy Then>
class BlockThen {
 public:
  static constexpr bool may_evict = detail::policy_may_evict<Then>();

  BlockThen() = default;
  explicit BlockThen(const QueueConfig& config) : then_(detail::make_policy<Then>(config)) {}

  [[nodiscard]] constexpr FullAction on_full(bool deadline_passed) const noexcept {
    return deadline_passed ? then_.on_full(true) : FullAction::wait;
  }

 private:
  Then then_{};
};

/// When full: does what QueueConfig::policy says, chosen at run time.
class Dynamic {
 public:
  static constexpr bool may_evict = true;

  Dynamic() = default;
  explicit Dynamic(const QueueConfig& config) noexcept : policy_(config.policy) {}

  [[nodiscard]] constexpr FullAction on_full(bool deadline_passed) const noexcept {
    switch (policy_) {
      case OverflowPolicy::drop_oldest: return FullAction::evict_oldest;
      case OverflowPolicy::drop_newest: return FullAction::drop_newest;
      case OverflowPolicy::block: break;
    }
    return deadline_passed ? FullAction::time_out : FullAction::wait;
  }

  /// Returns the policy in force.
  [[nodiscard]] constexpr OverflowPolicy policy() const noexcept { return policy_; }

 private:
  OverflowPolicy policy_ = OverflowPolicy::drop_oldest;
};

}  // namespace bq
