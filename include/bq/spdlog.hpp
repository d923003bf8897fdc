// Optional spdlog integration: bq::AsyncSink, an spdlog sink that makes any
// logger asynchronous through a bq::BoundedQueue.
//
// Include this header only where you use spdlog (Debian's libspdlog-dev 1.10 or
// any later release with the same sinks::sink interface); no other bq header
// includes it.
//
//   auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>("app.log");
//   auto async = std::make_shared<bq::AsyncSink<bq::DropOldest>>(8192, file);
//   spdlog::logger logger("app", async);
//   logger.info("request {} took {} ms", id, ms);   // copies, queues, returns
//
// How the pieces fit. log() copies the message (payload, logger name, level,
// time, thread id, source location) into an AsyncLogRecord that owns its text,
// and pushes it into the queue under Policy: when the queue is full, DropOldest
// evicts the oldest message, DropNewest refuses the new one, Block waits up to
// QueueConfig::block_timeout. One worker thread pops the records in queue order
// (FIFO per logging thread), rebuilds an spdlog log_msg and writes it to every
// wrapped sink whose own level lets it through. A message the policy evicts
// (dropped_oldest) or refuses (dropped_newest, timed_out, rejected_closed) is
// never written: for the queue a refused item goes back to its caller, but here
// the caller is log(), which has nowhere to keep it, so AsyncSink loses both
// kinds. Both are counted in metrics() and passed to the optional drop handler,
// whose DroppedLogMessage::reason tells them apart. flush() sends a
// marker through the queue and waits until the worker has written everything
// before it and flushed the wrapped sinks. close() and the destructor drain the
// queue, write, flush and join the worker.
#pragma once

#include <spdlog/common.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "bounded_queue.hpp"
#include "metrics.hpp"
#include "policy.hpp"
#include "queue_config.hpp"

namespace bq {

/// One queued log message (or a control record of AsyncSink's own): everything
/// the wrapped sinks need, with the logger name and payload copied into storage
/// it owns. Texts up to kInlineText bytes in all are kept inline (no
/// allocation); longer ones take one heap block. Moves never throw.
class AsyncLogRecord {
 public:
  /// What the record is: a message, or one of AsyncSink's control records.
  enum class Kind : std::uint8_t { message, flush, wake };

  /// Bytes of logger name plus payload stored without allocating.
  static constexpr std::size_t kInlineText = 176;

  AsyncLogRecord() noexcept = default;

  /// Copies `msg`. Never throws: if a text longer than kInlineText cannot be
  /// allocated, the first kInlineText bytes are kept (the logger name first).
  explicit AsyncLogRecord(const spdlog::details::log_msg& msg) noexcept
      : level_(msg.level),
        time_(msg.time),
        thread_id_(msg.thread_id),
        source_(msg.source),
        name_size_(msg.logger_name.size()),
        payload_size_(msg.payload.size()) {
    char* out = inline_;
    if (name_size_ + payload_size_ > kInlineText) {
      heap_.reset(new (std::nothrow) char[name_size_ + payload_size_]);
      if (heap_) {
        out = heap_.get();
      } else {
        name_size_ = std::min(name_size_, kInlineText);
        payload_size_ = std::min(payload_size_, kInlineText - name_size_);
      }
    }
    if (name_size_ != 0) std::memcpy(out, msg.logger_name.data(), name_size_);
    if (payload_size_ != 0) std::memcpy(out + name_size_, msg.payload.data(), payload_size_);
  }

  /// Returns a control record (AsyncSink's flush markers and wake-ups).
  static AsyncLogRecord control(Kind kind, std::uint64_t ticket) noexcept {
    AsyncLogRecord record;
    record.kind_ = kind;
    record.ticket_ = ticket;
    return record;
  }

  AsyncLogRecord(AsyncLogRecord&& other) noexcept { take(other); }
  AsyncLogRecord& operator=(AsyncLogRecord&& other) noexcept {
    if (this != &other) take(other);
    return *this;
  }
  AsyncLogRecord(const AsyncLogRecord&) = delete;
  AsyncLogRecord& operator=(const AsyncLogRecord&) = delete;
  ~AsyncLogRecord() = default;

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool is_message() const noexcept { return kind_ == Kind::message; }
  /// Returns the flush ticket of a control record (0 for a message).
  [[nodiscard]] std::uint64_t ticket() const noexcept { return ticket_; }
  [[nodiscard]] spdlog::level::level_enum level() const noexcept { return level_; }
  [[nodiscard]] std::string_view logger_name() const noexcept { return {text(), name_size_}; }
  [[nodiscard]] std::string_view payload() const noexcept {
    return {text() + name_size_, payload_size_};
  }

  /// Returns an spdlog message that views this record (valid while it lives).
  [[nodiscard]] spdlog::details::log_msg to_log_msg() const {
    const std::string_view name = logger_name();
    const std::string_view body = payload();
    spdlog::details::log_msg msg(time_, source_, spdlog::string_view_t(name.data(), name.size()),
                                 level_, spdlog::string_view_t(body.data(), body.size()));
    msg.thread_id = thread_id_;  // the logging thread's, not the worker's
    return msg;
  }

 private:
  [[nodiscard]] const char* text() const noexcept { return heap_ ? heap_.get() : inline_; }

  void take(AsyncLogRecord& other) noexcept {
    kind_ = other.kind_;
    level_ = other.level_;
    ticket_ = other.ticket_;
    time_ = other.time_;
    thread_id_ = other.thread_id_;
    source_ = other.source_;
    name_size_ = other.name_size_;
    payload_size_ = other.payload_size_;
    heap_ = std::move(other.heap_);
    // Only the bytes in use are copied: a short message moves a few cache lines less.
    if (!heap_ && name_size_ + payload_size_ != 0) {
      std::memcpy(inline_, other.inline_, name_size_ + payload_size_);
    }
  }

  Kind kind_ = Kind::message;
  spdlog::level::level_enum level_ = spdlog::level::off;
  std::uint64_t ticket_ = 0;
  spdlog::log_clock::time_point time_{};
  std::size_t thread_id_ = 0;
  spdlog::source_loc source_{};  // file and function names are string literals: kept as pointers
  std::size_t name_size_ = 0;
  std::size_t payload_size_ = 0;
  std::unique_ptr<char[]> heap_;
  char inline_[kInlineText];
};

/// A message AsyncSink did not deliver, as its drop handler sees it.
struct DroppedLogMessage {
  spdlog::level::level_enum level = spdlog::level::off;
  std::string_view logger_name;  ///< Valid only during the handler call.
  std::string_view payload;      ///< The message text; valid only during the handler call.
  /// Why: `replaced_oldest` (evicted by a newer message), `dropped_newest`,
  /// `timed_out` (the queue stayed full for block_timeout) or `closed`.
  PushResult reason = PushResult::dropped_newest;
};

namespace detail {

/// A logger with no sinks, kept only for spdlog's default error handler, which
/// prints "[*** LOG ERROR #0001 ***] [time] [bq::AsyncSink] {what}" to stderr at
/// most once a second. A template so that a spdlog release without the protected
/// logger::err_handler_ (1.10 through 1.15 have it) still compiles: it then prints
/// the same kind of line itself.
template <class Logger = spdlog::logger>
class AsyncSinkErrorReporter final : public Logger {
 public:
  AsyncSinkErrorReporter() : Logger("bq::AsyncSink") {}

  void report(const std::string& what) {
    if constexpr (requires(AsyncSinkErrorReporter & self) { self.err_handler_(what); }) {
      this->err_handler_(what);
    } else {
      std::lock_guard lock(mutex_);
      ++count_;
      const auto now = std::chrono::steady_clock::now();
      if (count_ > 1 && now - last_ < std::chrono::seconds(1)) return;
      last_ = now;
      std::fprintf(stderr, "[*** LOG ERROR #%04llu ***] [bq::AsyncSink] {%s}\n",
                   static_cast<unsigned long long>(count_), what.c_str());
    }
  }

 private:
  std::mutex mutex_;
  std::uint64_t count_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace detail

/// An spdlog sink that queues each message in a BoundedQueue<AsyncLogRecord,
/// Policy> and writes it to the wrapped sinks from one worker thread, in queue
/// order. log(), flush() and every other member are thread-safe.
///
/// Levels: the AsyncSink's own level (set_level) filters before a message is
/// copied; each wrapped sink's own level is honoured by the worker, as a logger
/// would. set_pattern() and set_formatter() reach every wrapped sink at once:
/// messages still queued are written with the new pattern (as with spdlog's
/// async_logger).
///
/// Errors: an exception from a wrapped sink's log() or flush() is caught by the
/// worker, counted in sink_errors() and passed to spdlog's error handler (see
/// set_error_handler()); the worker goes on with the next sink and message.
/// A wrapped sink must not log through this AsyncSink (its worker would wait on
/// itself when the queue is full).
template <class Policy = DropOldest>
class AsyncSink final : public spdlog::sinks::sink {
 public:
  using queue_type = BoundedQueue<AsyncLogRecord, Policy>;
  /// Called in the logging thread for every message evicted or refused (never for
  /// one merely delayed). It must not log through this sink (with DropOldest that
  /// would evict again, recursively); an exception it throws reaches the logger's
  /// error handler.
  using DropHandler = std::function<void(const DroppedLogMessage&)>;

  /// Starts the worker, writing to `sinks` (none may be null: throws
  /// std::invalid_argument), through a queue configured by `config` (validated:
  /// throws ConfigError). With bq::Dynamic, config.policy chooses the policy.
  AsyncSink(const QueueConfig& config, std::vector<spdlog::sink_ptr> sinks,
            DropHandler on_drop = {})
      : sinks_(checked(std::move(sinks))),
        on_drop_(std::move(on_drop)),
        queue_(config, [this](AsyncLogRecord&& evicted) { on_evicted(std::move(evicted)); }) {
    worker_ = std::thread([this] { run(); });
  }

  /// Starts the worker, writing to `wrapped`, through a queue of `capacity` messages
  /// with the other settings of a default QueueConfig.
  AsyncSink(std::size_t capacity, spdlog::sink_ptr wrapped, DropHandler on_drop = {})
      : AsyncSink(with_capacity(capacity), std::vector<spdlog::sink_ptr>{std::move(wrapped)},
                  std::move(on_drop)) {}

  AsyncSink(const AsyncSink&) = delete;
  AsyncSink& operator=(const AsyncSink&) = delete;

  /// Drains, writes and flushes everything queued, then joins the worker (close()).
  ~AsyncSink() override { close(); }

  /// Copies `msg` and queues it under Policy; a message the policy drops (or any
  /// message after close()) goes to the drop handler. Blocks only under a waiting
  /// policy with a full queue, up to block_timeout.
  void log(const spdlog::details::log_msg& msg) override {
    // Built in the queue's slot (one copy); `msg` is used only if queued.
    const PushResult result = queue_.emplace(msg);
    if (!accepted(result) && on_drop_) {
      on_drop_(DroppedLogMessage{msg.level,
                                 std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                                 std::string_view(msg.payload.data(), msg.payload.size()), result});
    }
  }

  /// Blocks until every message logged before this call has been written to the
  /// wrapped sinks and they were flushed, or until config().block_timeout passes.
  /// On timeout it returns anyway and counts it in flush_timeouts(): no message
  /// is dropped for it, and if the flush request got into the queue the sinks
  /// are flushed once the worker reaches it. After close(), flushes the wrapped
  /// sinks directly. From the worker thread itself (a wrapped sink or error
  /// handler that flushes), flushes the wrapped sinks without waiting. With a
  /// block_timeout of 0 it only requests the flush (and counts a timeout).
  void flush() override { (void)flush_for(queue_.config().block_timeout); }

  /// Like flush(), but waits at most `timeout`; returns false if it passed first.
  template <class Rep, class Period>
  bool flush_for(std::chrono::duration<Rep, Period> timeout) {
    if (std::this_thread::get_id() == worker_id_.load(std::memory_order_relaxed)) {
      flush_sinks();
      return true;
    }
    if (queue_.is_closed()) {
      wait_closed();
      flush_sinks();
      return true;
    }
    const auto deadline = detail::deadline_after(timeout);
    const std::uint64_t ticket = flush_requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (!push_control(AsyncLogRecord::Kind::flush, ticket, deadline)) {
      // Closed meanwhile: close() writes and flushes everything before returning.
      if (queue_.is_closed()) {
        wait_closed();
        return true;
      }
      flush_timeouts_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::unique_lock lock(flush_mutex_);
    for (;;) {
      // The worker acknowledges under flush_mutex_, so this check cannot miss it.
      if (flush_done_ >= ticket) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      // Sliced: if a newer message evicted our marker, the worker learns of it
      // from flush_evicted_, and a wake-up record makes sure it is not asleep.
      if (flush_cv_.wait_until(lock, std::min(deadline, now + kFlushRetry),
                               [&] { return flush_done_ >= ticket; })) {
        return true;
      }
      if (flush_evicted_.load(std::memory_order_acquire) >= ticket && !queue_.is_closed()) {
        lock.unlock();
        push_wake();
        lock.lock();
      }
    }
    flush_timeouts_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  /// Closes the queue (later messages go to the drop handler as `closed`), lets
  /// the worker write what is queued, flush the sinks and exit, and joins it.
  /// Idempotent; safe from any thread but the worker (where it only closes).
  void close() {
    queue_.close();
    if (std::this_thread::get_id() == worker_id_.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(join_mutex_);
    if (worker_.joinable()) worker_.join();
  }

  /// Sets the pattern of every wrapped sink.
  void set_pattern(const std::string& pattern) override {
    std::lock_guard lock(sinks_mutex_);
    for (const auto& wrapped : sinks_) wrapped->set_pattern(pattern);
  }

  /// Gives every wrapped sink a clone of `formatter` (the last one gets it).
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard lock(sinks_mutex_);
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      sinks_[i]->set_formatter(i + 1 == sinks_.size() ? std::move(formatter) : formatter->clone());
    }
  }

  /// Replaces spdlog's error handler for the wrapped sinks' exceptions (the
  /// default prints to stderr, at most once a second). Called by the worker.
  void set_error_handler(spdlog::err_handler handler) {
    std::lock_guard lock(error_mutex_);
    error_handler_ = std::move(handler);
  }

  /// Returns the queue's counters, counting log messages only (the queue() itself
  /// also counts AsyncSink's flush markers and wake-ups). A snapshot, as
  /// BoundedQueue::metrics().
  [[nodiscard]] QueueMetrics metrics() const noexcept {
    QueueMetrics m = queue_.metrics();
    const auto take = [](auto& value, std::uint64_t n) {
      value -= std::min<std::uint64_t>(value, n);
    };
    const std::uint64_t pushed = control_pushed_.load(std::memory_order_relaxed);
    const std::uint64_t popped = control_popped_.load(std::memory_order_relaxed);
    const std::uint64_t evicted = control_evicted_.load(std::memory_order_relaxed);
    take(m.pushed, pushed);
    take(m.popped, popped);
    take(m.dropped_oldest, evicted);
    take(m.dropped_newest, control_dropped_newest_.load(std::memory_order_relaxed));
    take(m.timed_out, control_timed_out_.load(std::memory_order_relaxed));
    take(m.rejected_closed, control_rejected_closed_.load(std::memory_order_relaxed));
    const std::uint64_t queued = pushed - std::min(pushed, popped + evicted);
    m.size -= std::min<std::size_t>(m.size, static_cast<std::size_t>(queued));
    return m;
  }

  /// Returns the queue, for QueueMonitor::watch, write_prometheus and check_health.
  /// Do not push to or pop from it.
  [[nodiscard]] queue_type& queue() noexcept { return queue_; }
  [[nodiscard]] const queue_type& queue() const noexcept { return queue_; }

  /// Returns the wrapped sinks.
  [[nodiscard]] const std::vector<spdlog::sink_ptr>& sinks() const noexcept { return sinks_; }

  /// Returns how many times a wrapped sink's log() or flush() threw.
  [[nodiscard]] std::uint64_t sink_errors() const noexcept {
    return sink_errors_.load(std::memory_order_relaxed);
  }

  /// Returns how many flush() calls returned because their timeout passed.
  [[nodiscard]] std::uint64_t flush_timeouts() const noexcept {
    return flush_timeouts_.load(std::memory_order_relaxed);
  }

 private:
  using clock = std::chrono::steady_clock;
  /// How often a waiting flush() checks whether its marker was evicted.
  static constexpr std::chrono::milliseconds kFlushRetry{5};
  /// Messages the worker writes under one hold of sinks_mutex_.
  static constexpr int kBatch = 64;

  static QueueConfig with_capacity(std::size_t capacity) {
    QueueConfig config;
    config.capacity = capacity;
    return config;
  }

  static std::vector<spdlog::sink_ptr> checked(std::vector<spdlog::sink_ptr> sinks) {
    for (const auto& wrapped : sinks) {
      if (!wrapped) throw std::invalid_argument("bq::AsyncSink: a wrapped sink is null");
    }
    return sinks;
  }

  /// Whether the policy in force evicts the oldest item when full.
  bool policy_evicts() const noexcept {
    if constexpr (std::is_same_v<Policy, DropOldest>) {
      return true;
    } else if constexpr (std::is_same_v<Policy, Dynamic>) {
      return queue_.policy().policy() == OverflowPolicy::drop_oldest;
    } else {
      return false;
    }
  }

  /// Queues a control record. Under an evicting policy it evicts like a message
  /// would (and that message goes to the drop handler); under a waiting policy
  /// it waits for room like a message, until `deadline`; under any other it
  /// retries until `deadline`. Never counted as a message in metrics(). Returns
  /// false if it did not get in.
  bool push_control(AsyncLogRecord::Kind kind, std::uint64_t ticket, clock::time_point deadline) {
    if (policy_evicts()) {
      ForcePushResult<AsyncLogRecord> result =
          queue_.force_push(AsyncLogRecord::control(kind, ticket));
      if (result.result == PushResult::closed) return false;
      control_pushed_.fetch_add(1, std::memory_order_relaxed);
      if (result.evicted) on_evicted(std::move(*result.evicted));
      return true;
    }
    if (queue_.policy().on_full(false) == FullAction::wait) {
      // Waiting in the queue (not polling) keeps the marker's turn among the
      // messages that wait too; a refusal is subtracted again in metrics().
      const PushResult result = queue_.push_until(AsyncLogRecord::control(kind, ticket), deadline);
      if (accepted(result)) {
        control_pushed_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      if (result == PushResult::dropped_newest) {
        control_dropped_newest_.fetch_add(1, std::memory_order_relaxed);
      } else if (result == PushResult::timed_out) {
        control_timed_out_.fetch_add(1, std::memory_order_relaxed);
      } else if (result == PushResult::closed) {
        control_rejected_closed_.fetch_add(1, std::memory_order_relaxed);
      }
      return false;
    }
    // A policy that refuses at once (DropNewest): try_push is neither counted
    // nor refused on the policy's behalf; retry while the worker makes room.
    auto pause = std::chrono::microseconds(20);
    for (;;) {
      if (queue_.try_push(AsyncLogRecord::control(kind, ticket))) {
        control_pushed_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      if (queue_.is_closed() || clock::now() >= deadline) return false;
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(1));
    }
  }

  /// Queues a wake-up record if there is room now (a full queue keeps the worker busy).
  void push_wake() {
    if (queue_.try_push(AsyncLogRecord::control(AsyncLogRecord::Kind::wake, 0))) {
      control_pushed_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  /// The eviction handler (in the pushing thread).
  void on_evicted(AsyncLogRecord&& record) {
    if (record.is_message()) {
      dropped(record, PushResult::replaced_oldest);
      return;
    }
    control_evicted_.fetch_add(1, std::memory_order_relaxed);
    if (record.kind() == AsyncLogRecord::Kind::flush) {
      // Everything queued before the marker is gone too (popped or evicted), so
      // the flush is due once the worker finishes the message it holds: it
      // checks flush_evicted_ after each one.
      raise(flush_evicted_, record.ticket());
    }
  }

  void dropped(const AsyncLogRecord& record, PushResult reason) {
    if (!on_drop_ || !record.is_message()) return;
    on_drop_(DroppedLogMessage{record.level(), record.logger_name(), record.payload(), reason});
  }

  static void raise(std::atomic<std::uint64_t>& value, std::uint64_t to) noexcept {
    std::uint64_t seen = value.load(std::memory_order_relaxed);
    while (seen < to && !value.compare_exchange_weak(seen, to, std::memory_order_acq_rel)) {
    }
  }

  /// The worker: pops until the queue is closed and empty, then flushes and
  /// acknowledges every flush request.
  void run() {
    worker_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    while (std::optional<AsyncLogRecord> record = queue_.pop()) {
      // The sinks' lock is taken once for a run of messages (at most kBatch),
      // and never held while waiting for one.
      std::unique_lock sinks_lock(sinks_mutex_);
      for (int n = 0; record; record = ++n < kBatch ? queue_.try_pop() : std::nullopt) {
        if (record->is_message()) {
          write(*record);
        } else {
          sinks_lock.unlock();
          control_popped_.fetch_add(1, std::memory_order_relaxed);
          if (record->kind() == AsyncLogRecord::Kind::flush) complete_flush(record->ticket());
          sinks_lock.lock();
        }
        const std::uint64_t evicted = flush_evicted_.load(std::memory_order_acquire);
        if (evicted > flush_done_seen_) {
          sinks_lock.unlock();
          complete_flush(evicted);
          sinks_lock.lock();
        }
      }
    }
    complete_flush(flush_requested_.load(std::memory_order_acquire));
    std::lock_guard lock(closed_mutex_);
    worker_done_ = true;
    closed_cv_.notify_all();
  }

  /// Writes one message to the wrapped sinks; sinks_mutex_ is held.
  void write(const AsyncLogRecord& record) {
    const spdlog::details::log_msg msg = record.to_log_msg();
    for (const auto& wrapped : sinks_) {
      if (!wrapped->should_log(msg.level)) continue;
      try {
        wrapped->log(msg);
      } catch (const std::exception& e) {
        report(std::string("bq::AsyncSink: a wrapped sink threw writing a message of logger '") +
               std::string(record.logger_name()) + "': " + e.what());
      } catch (...) {
        report("bq::AsyncSink: a wrapped sink threw an unknown exception writing a message");
      }
    }
  }

  void flush_sinks() {
    std::lock_guard lock(sinks_mutex_);
    for (const auto& wrapped : sinks_) {
      try {
        wrapped->flush();
      } catch (const std::exception& e) {
        report(std::string("bq::AsyncSink: a wrapped sink threw flushing: ") + e.what());
      } catch (...) {
        report("bq::AsyncSink: a wrapped sink threw an unknown exception flushing");
      }
    }
  }

  /// Flushes the sinks and acknowledges every flush request up to `ticket`.
  void complete_flush(std::uint64_t ticket) {
    flush_sinks();
    flush_done_seen_ = std::max(flush_done_seen_, ticket);
    {
      std::lock_guard lock(flush_mutex_);
      flush_done_ = std::max(flush_done_, ticket);
    }
    flush_cv_.notify_all();
  }

  void report(const std::string& what) noexcept {
    sink_errors_.fetch_add(1, std::memory_order_relaxed);
    try {
      std::lock_guard lock(error_mutex_);
      if (error_handler_) {
        error_handler_(what);
      } else {
        reporter_.report(what);
      }
    } catch (...) {
      // An error handler that throws has nowhere to report to: the worker goes on.
    }
  }

  /// Waits until the worker has drained the closed queue (close() from another thread).
  void wait_closed() {
    std::unique_lock lock(closed_mutex_);
    closed_cv_.wait(lock, [&] { return worker_done_; });
  }

  const std::vector<spdlog::sink_ptr> sinks_;
  const DropHandler on_drop_;
  std::mutex sinks_mutex_;  // held by the worker while it writes; set_pattern waits for it
  std::mutex error_mutex_;
  spdlog::err_handler error_handler_;  // guarded by error_mutex_; empty: spdlog's default
  detail::AsyncSinkErrorReporter<> reporter_;

  std::atomic<std::uint64_t> flush_requested_{0};  // the last ticket handed out
  std::atomic<std::uint64_t> flush_evicted_{0};    // the newest evicted marker's ticket
  std::uint64_t flush_done_seen_ = 0;              // worker only
  std::mutex flush_mutex_;
  std::condition_variable flush_cv_;
  std::uint64_t flush_done_ = 0;  // guarded by flush_mutex_

  std::mutex closed_mutex_;
  std::condition_variable closed_cv_;
  bool worker_done_ = false;  // guarded by closed_mutex_

  std::atomic<std::uint64_t> control_pushed_{0};
  std::atomic<std::uint64_t> control_popped_{0};
  std::atomic<std::uint64_t> control_evicted_{0};
  std::atomic<std::uint64_t> control_dropped_newest_{0};
  std::atomic<std::uint64_t> control_timed_out_{0};
  std::atomic<std::uint64_t> control_rejected_closed_{0};
  std::atomic<std::uint64_t> sink_errors_{0};
  std::atomic<std::uint64_t> flush_timeouts_{0};

  queue_type queue_;  // after everything its eviction handler uses
  std::atomic<std::thread::id> worker_id_{};
  std::mutex join_mutex_;
  std::thread worker_;  // last: started once everything else is built
};

}  // namespace bq
