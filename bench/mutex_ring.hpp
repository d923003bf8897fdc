// The baseline every blocking queue is measured against: a fixed ring guarded by one
// std::mutex, with one condition variable for "not full" and one for "not empty".
// It is what a careful engineer writes in twenty minutes, and what bq must beat.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

namespace bq_bench {

template <class T>
class MutexRing {
 public:
  explicit MutexRing(std::size_t capacity) : slots_(capacity) {}

  /// Blocks until there is room, then queues `item`.
  void push(T item) {
    {
      std::unique_lock lock(mutex_);
      not_full_.wait(lock, [this] { return size_ < slots_.size(); });
      put(std::move(item));
    }
    not_empty_.notify_one();
  }

  /// Waits up to `timeout` for room; returns false (item not queued) when it runs out.
  template <class Rep, class Period>
  bool push_for(T item, std::chrono::duration<Rep, Period> timeout) {
    {
      std::unique_lock lock(mutex_);
      if (!not_full_.wait_for(lock, timeout, [this] { return size_ < slots_.size(); })) {
        return false;
      }
      put(std::move(item));
    }
    not_empty_.notify_one();
    return true;
  }

  /// Queues `item` if there is room; never waits.
  bool try_push(T item) {
    {
      std::lock_guard lock(mutex_);
      if (size_ == slots_.size()) return false;
      put(std::move(item));
    }
    not_empty_.notify_one();
    return true;
  }

  /// Queues `item`, first discarding the oldest item when full; returns true if one was dropped.
  bool push_overwrite(T item) {
    bool dropped = false;
    {
      std::lock_guard lock(mutex_);
      if (size_ == slots_.size()) {
        head_ = next(head_);
        --size_;
        dropped = true;
      }
      put(std::move(item));
    }
    not_empty_.notify_one();
    return dropped;
  }

  /// Blocks until an item is queued, then removes and returns the oldest.
  T pop() {
    T item;
    {
      std::unique_lock lock(mutex_);
      not_empty_.wait(lock, [this] { return size_ > 0; });
      item = take();
    }
    not_full_.notify_one();
    return item;
  }

  /// Removes and returns the oldest item, or nothing when empty; never waits.
  std::optional<T> try_pop() {
    std::optional<T> item;
    {
      std::lock_guard lock(mutex_);
      if (size_ == 0) return item;
      item = take();
    }
    not_full_.notify_one();
    return item;
  }

 private:
  std::size_t next(std::size_t index) const noexcept {
    return index + 1 == slots_.size() ? 0 : index + 1;
  }
  void put(T&& item) {
    std::size_t tail = head_ + size_;
    if (tail >= slots_.size()) tail -= slots_.size();
    slots_[tail] = std::move(item);
    ++size_;
  }
  T take() {
    T item = std::move(slots_[head_]);
    head_ = next(head_);
    --size_;
    return item;
  }

  std::mutex mutex_;
  std::condition_variable not_full_;   // signalled after every pop
  std::condition_variable not_empty_;  // signalled after every push
  std::vector<T> slots_;
  std::size_t head_ = 0;  // index of the oldest item
  std::size_t size_ = 0;
};

}  // namespace bq_bench
