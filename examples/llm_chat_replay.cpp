// llm_chat_replay: replays the incident behind bq.
//
// A chat service takes user messages in bursts and hands them to an LLM worker
// that processes them at a steady, slower rate. With an unbounded std::deque
// between them the backlog, the latency and the memory grow for as long as the
// burst lasts, and nobody sees it until the process dies. With a
// bq::BoundedQueue the memory stays flat, the monitor says in a few log lines
// what is happening (utilization high, N messages lost or refused in the last interval),
// and the final metrics tell the whole story.
//
// The program runs the same workload twice, each time in a fresh child process
// so that each peak RSS is its own: first through a BoundedQueue<ChatMessage,
// bq::Dynamic> configured from the command line, then through a mutex-guarded
// std::deque. Then it prints both side by side.
//
//   llm_chat_replay                                    # the defaults below
//   llm_chat_replay "capacity=500,policy=block,block_timeout=20ms"
//   llm_chat_replay --seconds=5 "monitor_interval=1s"
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bq/bounded_queue.hpp>
#include <bq/fmt.hpp>
#include <bq/health.hpp>
#include <bq/monitor.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kDefaultConfig =
    "capacity=2000, policy=drop_oldest, block_timeout=50ms, monitor_interval=500ms, "
    "warn_utilization=0.8";

// The workload. Messages arrive in bursts of 400 to 2000 every 100 ms (about
// 12,000 a second, 1.1 KiB each on average); the worker takes 20 messages every
// 5 ms (4,000 a second). Only the config and the duration come from the command line.
constexpr auto kBurstPeriod = 100ms;
constexpr std::uint64_t kMinBurst = 400;
constexpr std::uint64_t kMaxBurst = 2000;
constexpr auto kWorkerTick = 5ms;
constexpr int kMessagesPerTick = 20;

struct ChatMessage {
  std::uint64_t id = 0;
  std::string user;
  std::string text;
  Clock::time_point received;
};

// Deterministic pseudo-random chat traffic (SplitMix64), the same in both runs.
class ChatSource {
 public:
  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15u;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }

  std::uint64_t burst_size() { return kMinBurst + next() % (kMaxBurst - kMinBurst + 1); }

  ChatMessage message() {
    static constexpr std::string_view kWords[] = {
        "please", "summarize", "the",    "attached", "thread", "and",   "explain",
        "why",    "latency",   "spiked", "after",    "deploy", "queue", "memory"};
    ChatMessage m;
    m.id = ++id_;
    m.user = fmt::format("user{}", next() % 5000);
    const std::size_t length = 200 + next() % 1800;
    m.text.reserve(length);
    while (m.text.size() < length) {
      m.text += kWords[next() % std::size(kWords)];
      m.text += ' ';
    }
    m.received = Clock::now();
    return m;
  }

 private:
  std::uint64_t state_ = 42;
  std::uint64_t id_ = 0;
};

// Stands in for tokenizing and running the model: reads every byte.
std::uint64_t process(const ChatMessage& m) {
  std::uint64_t hash = 1469598103934665603u;
  for (const char c : m.text) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211u;
  return hash ^ m.id;
}

// Returns the value in KiB of a "VmHWM:" / "VmRSS:" line of /proc/self/status, or -1.
long proc_status_kib(std::string_view key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key, 0) == 0) return std::strtol(line.c_str() + key.size(), nullptr, 10);
  }
  return -1;
}

long peak_rss_kib() {
  const long hwm = proc_status_kib("VmHWM:");
  if (hwm >= 0) return hwm;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux.
}

// What a run reports to the parent (a plain struct sent through a pipe).
struct RunResult {
  bool ok = false;
  std::uint64_t produced = 0;
  std::uint64_t processed = 0;
  std::uint64_t dropped = 0;   // Not delivered: evicted, or refused (full, timed out) and
                               // then thrown away by the producer.
  std::uint64_t left = 0;      // Still queued when the producer stopped.
  std::uint64_t peak = 0;      // Largest backlog.
  double oldest_left_s = 0.0;  // Age of the oldest message still queued.
  double max_wait_s = 0.0;     // Longest time a processed message waited.
  long rss_start_kib = 0;
  long rss_peak_kib = 0;
  std::uint64_t checksum = 0;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs the producer for `duration` and the worker until then, through
// `push(ChatMessage&&) -> bool` and `pop() -> std::optional<ChatMessage>`.
template <class Push, class Pop, class Progress>
void run_workload(std::chrono::milliseconds duration, RunResult& result, Push push, Pop pop,
                  Progress progress) {
  std::atomic<bool> producing{true};
  std::thread worker([&] {
    auto next_tick = Clock::now();
    while (producing.load(std::memory_order_relaxed)) {
      next_tick += kWorkerTick;
      std::this_thread::sleep_until(next_tick);
      for (int i = 0; i < kMessagesPerTick; ++i) {
        std::optional<ChatMessage> message = pop();
        if (!message) break;
        result.max_wait_s = std::max(result.max_wait_s, seconds_since(message->received));
        result.checksum += process(*message);
        ++result.processed;
      }
    }
  });

  ChatSource source;
  const auto start = Clock::now();
  auto next_burst = start;
  auto next_progress = start + 500ms;
  const auto stop = start + duration;
  while (Clock::now() < stop) {
    // A blocking policy may hold the producer back: stop mid-burst on time.
    for (std::uint64_t n = source.burst_size(); n > 0 && Clock::now() < stop; --n) {
      ++result.produced;
      if (!push(source.message())) ++result.dropped;
    }
    next_burst += kBurstPeriod;
    std::this_thread::sleep_until(next_burst);
    if (Clock::now() >= next_progress) {
      progress();
      next_progress += 500ms;
    }
  }
  producing = false;
  worker.join();
}

RunResult run_bounded(const bq::QueueConfig& config, std::chrono::milliseconds duration) {
  RunResult result;
  result.rss_start_kib = peak_rss_kib();
  bq::BoundedQueue<ChatMessage, bq::Dynamic> queue(config);

  // The monitor logs through bq::LogSink. It also reports each interval's peak
  // (high_watermark events), which this sink keeps out of the log and folds
  // into the peak of the whole run: the monitor resets the queue's own high
  // watermark at every sample.
  auto options = bq::MonitorOptions::from(config);
  options.report_high_watermark = true;
  const bq::LogSink log(stderr);
  std::size_t peak = 0;  // Written by the monitor thread; read after stop() joined it.
  bq::QueueMonitor monitor(
      [&](const bq::MonitorEvent& event) {
        peak = std::max(peak, event.peak);
        if (event.kind != bq::MonitorEventKind::high_watermark) log(event);
      },
      options);
  monitor.watch("chat", queue);

  run_workload(
      duration, result,
      [&](ChatMessage&& m) {
        // drop_oldest accepts the new message and evicts the oldest (counted in
        // the metrics); drop_newest and block may refuse it.
        return bq::accepted(queue.push(std::move(m)));
      },
      [&] { return queue.try_pop(); }, [] {});

  monitor.sample_now();  // Report the last, partial interval too.
  monitor.stop();
  const bq::QueueMetrics metrics = queue.metrics();
  result.dropped = metrics.dropped();
  result.left = metrics.size;
  result.peak = peak;
  if (auto oldest = queue.try_pop()) result.oldest_left_s = seconds_since(oldest->received);
  result.rss_peak_kib = peak_rss_kib();
  result.ok = true;

  fmt::print("[bounded] final metrics: {}\n", metrics);
  fmt::print("[bounded] health: {}\n",
             bq::check_health(metrics, bq::HealthThresholds::from(config)));
  return result;
}

RunResult run_unbounded(std::chrono::milliseconds duration) {
  RunResult result;
  result.rss_start_kib = peak_rss_kib();
  std::mutex mutex;
  std::deque<ChatMessage> queue;
  const auto queued = [&] {
    const std::lock_guard lock(mutex);
    return queue.size();
  };
  run_workload(
      duration, result,
      [&](ChatMessage&& m) {
        const std::lock_guard lock(mutex);
        queue.push_back(std::move(m));
        result.peak = std::max<std::uint64_t>(result.peak, queue.size());
        return true;
      },
      [&]() -> std::optional<ChatMessage> {
        const std::lock_guard lock(mutex);
        if (queue.empty()) return std::nullopt;
        std::optional<ChatMessage> m(std::move(queue.front()));
        queue.pop_front();
        return m;
      },
      [&] {
        std::fprintf(stderr, "[unbounded] %zu messages queued, RSS %.1f MiB and rising\n", queued(),
                     static_cast<double>(proc_status_kib("VmRSS:")) / 1024.0);
      });
  result.left = queue.size();
  if (!queue.empty()) result.oldest_left_s = seconds_since(queue.front().received);
  result.rss_peak_kib = peak_rss_kib();
  result.ok = true;
  return result;
}

// Runs `run` in a child process (its own peak RSS) and returns its result.
template <class Run>
RunResult in_child(Run run) {
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (pipe(fds) != 0) return run();  // Fall back to running here.
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return run();
  }
  if (pid == 0) {
    close(fds[0]);
    const RunResult result = run();
    std::fflush(stdout);
    std::fflush(stderr);
    const bool sent = write(fds[1], &result, sizeof result) == static_cast<ssize_t>(sizeof result);
    _exit(sent ? 0 : 1);
  }
  close(fds[1]);
  RunResult result;
  const bool received = read(fds[0], &result, sizeof result) == static_cast<ssize_t>(sizeof result);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!received || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return RunResult{};
  return result;
}

void print_comparison(const RunResult& bounded, const RunResult& unbounded) {
  const auto row = [](std::string_view label, const std::string& a, const std::string& b) {
    fmt::print("  {:<34} {:>16} {:>22}\n", label, a, b);
  };
  const auto mib = [](long kib) {
    return fmt::format("{:.1f} MiB", static_cast<double>(kib) / 1024);
  };
  fmt::print("\n");
  row("", "bq::BoundedQueue", "unbounded std::deque");
  row("messages produced", fmt::format("{}", bounded.produced),
      fmt::format("{}", unbounded.produced));
  row("messages processed", fmt::format("{}", bounded.processed),
      fmt::format("{}", unbounded.processed));
  row("messages dropped (counted, logged)", fmt::format("{}", bounded.dropped),
      fmt::format("{}", unbounded.dropped));
  row("largest backlog", fmt::format("{}", bounded.peak), fmt::format("{}", unbounded.peak));
  row("still queued at the end", fmt::format("{}", bounded.left),
      fmt::format("{}", unbounded.left));
  row("age of the oldest queued message", fmt::format("{:.2f} s", bounded.oldest_left_s),
      fmt::format("{:.2f} s", unbounded.oldest_left_s));
  row("longest wait of a processed message", fmt::format("{:.2f} s", bounded.max_wait_s),
      fmt::format("{:.2f} s", unbounded.max_wait_s));
  row("peak RSS of the run", mib(bounded.rss_peak_kib), mib(unbounded.rss_peak_kib));
  row("growth over its start", "+" + mib(bounded.rss_peak_kib - bounded.rss_start_kib),
      "+" + mib(unbounded.rss_peak_kib - unbounded.rss_start_kib));
  fmt::print(
      "\nThe bounded queue's memory is capped by its capacity; the deque's grows with the "
      "burst,\nand so does the wait of every message behind it.\n");
  if (bounded.produced < unbounded.produced) {
    fmt::print(
        "The blocking policy made the producer wait instead of dropping: it produced "
        "fewer messages.\n");
  }
}

int usage(const char* program, int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: %s [--seconds=S] [CONFIG]\n"
               "  CONFIG  the queue's bq::parse_config text (default: \"%.*s\")\n"
               "  S       how long each of the two runs lasts, 0.5 to 60 (default: 2)\n",
               program, static_cast<int>(kDefaultConfig.size()), kDefaultConfig.data());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view config_text = kDefaultConfig;
  double seconds = 2.0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return usage(argv[0], 0);
    if (arg.rfind("--seconds=", 0) == 0) {
      char* end = nullptr;
      seconds = std::strtod(argv[i] + std::strlen("--seconds="), &end);
      if (*end != '\0' || !(seconds >= 0.5 && seconds <= 60.0)) return usage(argv[0], 2);
    } else if (arg.rfind("--", 0) == 0) {
      return usage(argv[0], 2);
    } else {
      config_text = arg;
    }
  }

  bq::QueueConfig config;
  try {
    config = bq::parse_config(config_text);
  } catch (const bq::ConfigError& error) {
    std::fprintf(stderr, "llm_chat_replay: %s\n", error.what());
    return 2;
  }
  const auto duration = std::chrono::milliseconds(static_cast<long>(seconds * 1000));

  fmt::print(
      "llm_chat_replay: bursts of {}-{} chat messages every {}ms into a worker that takes "
      "{} every {}ms, for {:.1f} s per run\n",
      kMinBurst, kMaxBurst, kBurstPeriod.count(), kMessagesPerTick, kWorkerTick.count(), seconds);
  fmt::print("\n[bounded] bq::BoundedQueue<ChatMessage, bq::Dynamic> with {}\n", config);
  const RunResult bounded = in_child([&] { return run_bounded(config, duration); });
  fmt::print("\n[unbounded] std::deque<ChatMessage> behind a mutex, same workload\n");
  const RunResult unbounded = in_child([&] { return run_unbounded(duration); });
  if (!bounded.ok || !unbounded.ok) {
    std::fprintf(stderr, "llm_chat_replay: a run failed\n");
    return 1;
  }
  print_comparison(bounded, unbounded);
  return 0;
}
