// ReferenceQueue: an obviously correct (one mutex, two condition variables, a std::deque)
// queue with bq::BoundedQueue's API, for testing the tests.
//
// The linearizability checker must accept every history this queue produces (a checker that
// rejects a correct queue is as useless as one that accepts a broken one), and the broken
// wrappers in test_linearizability.cpp wrap it as well as the real queue. It follows the
// same contract as bq::BoundedQueue, including the one that matters for the checker: the
// eviction handler is called outside the lock before the new item is queued, so evictions
// are steps of their own (lin::Evictions::stepwise). An item whose construction throws
// leaves no trace (no hole: the deque either holds it or not), except that an eviction made
// before it stands.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <bq/config.hpp>
#include <bq/metrics.hpp>
#include <bq/policy.hpp>

namespace bq::lin {

template <class T>
struct RefForcePushResult {
  PushResult result;
  std::optional<T> evicted;
};

template <class T, class Policy>
class ReferenceQueue {
 public:
  using value_type = T;
  using clock = std::chrono::steady_clock;
  using EvictionHandler = std::function<void(T&&)>;

  explicit ReferenceQueue(std::size_t capacity, EvictionHandler on_evict = {})
      : ReferenceQueue(make_config(capacity), std::move(on_evict)) {}

  explicit ReferenceQueue(const QueueConfig& config, EvictionHandler on_evict = {})
      : config_(checked(config)),
        policy_(bq::detail::make_policy<Policy>(config)),
        on_evict_(std::move(on_evict)) {}

  ReferenceQueue(const ReferenceQueue&) = delete;
  ReferenceQueue& operator=(const ReferenceQueue&) = delete;

  PushResult push(const T& item) { return push_until_impl(T(item), default_deadline()); }
  PushResult push(T&& item) { return push_until_impl(std::move(item), default_deadline()); }
  template <class... A>
  PushResult emplace(A&&... args) {
    return push_until_impl(T(std::forward<A>(args)...), default_deadline());
  }
  template <class Rep, class Per>
  PushResult push_for(T&& item, std::chrono::duration<Rep, Per> timeout) {
    return push_until_impl(std::move(item), deadline_after(timeout));
  }
  template <class Rep, class Per>
  PushResult push_for(const T& item, std::chrono::duration<Rep, Per> timeout) {
    return push_until_impl(T(item), deadline_after(timeout));
  }
  template <class Dur>
  PushResult push_until(T&& item, std::chrono::time_point<clock, Dur> deadline) {
    return push_until_impl(
        std::move(item),
        std::optional<clock::time_point>(std::chrono::time_point_cast<clock::duration>(deadline)));
  }

  bool try_push(T&& item) {
    std::lock_guard lock(mutex_);
    if (closed_ || items_.size() >= config_.capacity) return false;
    queue_locked(std::move(item));
    return true;
  }
  bool try_push(const T& item) {
    std::lock_guard lock(mutex_);
    if (closed_ || items_.size() >= config_.capacity) return false;
    queue_locked(T(item));
    return true;
  }
  template <class... A>
  bool try_emplace(A&&... args) {
    std::lock_guard lock(mutex_);
    if (closed_ || items_.size() >= config_.capacity) return false;
    queue_locked(T(std::forward<A>(args)...));
    return true;
  }

  RefForcePushResult<T> force_push(T&& item) {
    std::unique_lock lock(mutex_);
    if (closed_) {
      ++rejected_closed_;
      return {PushResult::closed, std::nullopt};
    }
    RefForcePushResult<T> out{PushResult::pushed, std::nullopt};
    if (items_.size() >= config_.capacity) {
      out.evicted.emplace(std::move(items_.front()));
      items_.pop_front();
      ++dropped_oldest_;
      out.result = PushResult::replaced_oldest;
    }
    try {
      queue_locked(std::move(item));
    } catch (...) {
      // The eviction stands, and the victim has no way back but the handler (as in
      // bq::BoundedQueue), which runs outside the lock.
      lock.unlock();
      if (out.evicted && on_evict_) on_evict_(std::move(*out.evicted));
      throw;
    }
    return out;
  }

  std::optional<T> try_pop() {
    std::lock_guard lock(mutex_);
    return take_locked();
  }
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    return take_locked();
  }
  template <class Rep, class Per>
  std::optional<T> pop_for(std::chrono::duration<Rep, Per> timeout) {
    return pop_until_impl(deadline_after(timeout));
  }
  template <class Dur>
  std::optional<T> pop_until(std::chrono::time_point<clock, Dur> deadline) {
    return pop_until_impl(std::chrono::time_point_cast<clock::duration>(deadline));
  }

  void close() noexcept {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  [[nodiscard]] bool is_closed() const noexcept {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  [[nodiscard]] std::size_t size() const noexcept {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return config_.capacity; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] const QueueConfig& config() const noexcept { return config_; }

  [[nodiscard]] QueueMetrics metrics() const noexcept {
    std::lock_guard lock(mutex_);
    QueueMetrics m;
    m.capacity = config_.capacity;
    m.size = items_.size();
    m.high_watermark = high_watermark_;
    m.pushed = pushed_;
    m.popped = popped_;
    m.dropped_oldest = dropped_oldest_;
    m.dropped_newest = dropped_newest_;
    m.timed_out = timed_out_;
    m.rejected_closed = rejected_closed_;
    return m;
  }
  void reset_high_watermark() noexcept {
    std::lock_guard lock(mutex_);
    high_watermark_ = items_.size();
  }

 private:
  static QueueConfig make_config(std::size_t capacity) {
    QueueConfig config;
    config.capacity = capacity;
    return config;
  }
  static const QueueConfig& checked(const QueueConfig& config) {
    if (config.capacity == 0) throw std::invalid_argument("ReferenceQueue: capacity 0");
    validate(config);
    return config;
  }

  std::optional<clock::time_point> default_deadline() const {
    return deadline_after(config_.block_timeout);
  }
  /// Returns now + timeout, or nullopt (no deadline) when that would not fit.
  template <class Rep, class Per>
  static std::optional<clock::time_point> deadline_after(std::chrono::duration<Rep, Per> timeout) {
    const auto now = clock::now();
    if (timeout <= timeout.zero()) return now;
    const double seconds = std::chrono::duration<double>(timeout).count();
    if (seconds > 1e9) return std::nullopt;
    return now + std::chrono::ceil<clock::duration>(std::chrono::duration<double>(seconds));
  }

  void queue_locked(T&& item) {
    items_.push_back(std::move(item));
    ++pushed_;
    if (items_.size() > high_watermark_) high_watermark_ = items_.size();
    not_empty_.notify_one();
  }

  std::optional<T> take_locked() {
    if (items_.empty()) return std::nullopt;
    std::optional<T> out(std::move(items_.front()));
    items_.pop_front();
    ++popped_;
    not_full_.notify_one();
    return out;
  }

  PushResult push_until_impl(T&& item, std::optional<clock::time_point> deadline) {
    std::unique_lock lock(mutex_);
    bool evicted = false;
    bool deadline_passed = false;
    for (;;) {
      if (closed_) {
        ++rejected_closed_;
        return PushResult::closed;
      }
      if (items_.size() < config_.capacity) {
        queue_locked(std::move(item));
        return evicted ? PushResult::replaced_oldest : PushResult::pushed;
      }
      switch (policy_.on_full(deadline_passed)) {
        case FullAction::evict_oldest: {
          T old(std::move(items_.front()));
          items_.pop_front();
          ++dropped_oldest_;
          evicted = true;
          if (on_evict_) {
            lock.unlock();  // The handler runs outside the lock, as in bq::BoundedQueue.
            on_evict_(std::move(old));
            lock.lock();
          }
          continue;
        }
        case FullAction::drop_newest: ++dropped_newest_; return PushResult::dropped_newest;
        case FullAction::wait:
          if (!deadline_passed) {
            if (deadline) {
              deadline_passed = !not_full_.wait_until(
                  lock, *deadline, [&] { return closed_ || items_.size() < config_.capacity; });
            } else {
              not_full_.wait(lock, [&] { return closed_ || items_.size() < config_.capacity; });
            }
            continue;
          }
          [[fallthrough]];
        case FullAction::time_out: ++timed_out_; return PushResult::timed_out;
      }
    }
  }

  std::optional<T> pop_until_impl(std::optional<clock::time_point> deadline) {
    std::unique_lock lock(mutex_);
    const auto ready = [&] { return !items_.empty() || closed_; };
    if (deadline) {
      not_empty_.wait_until(lock, *deadline, ready);
    } else {
      not_empty_.wait(lock, ready);
    }
    return take_locked();
  }

  QueueConfig config_;
  Policy policy_;
  EvictionHandler on_evict_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
  std::size_t high_watermark_ = 0;
  std::uint64_t pushed_ = 0;
  std::uint64_t popped_ = 0;
  std::uint64_t dropped_oldest_ = 0;
  std::uint64_t dropped_newest_ = 0;
  std::uint64_t timed_out_ = 0;
  std::uint64_t rejected_closed_ = 0;
};

}  // namespace bq::lin
