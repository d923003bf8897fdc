// spdlog_async: a service that logs faster than its file sink can write, made
// asynchronous with bq::AsyncSink. Memory stays bounded (a queue of 1024 messages, the
// oldest dropped when full), a QueueMonitor reports the drops on stderr once a second, and
// the final metrics are printed at the end.
//
//   spdlog_async [--seconds N] [--config "capacity=1024, policy=drop_oldest"] [--log FILE]
//
// The file sink is made slow on purpose (about 20 us per line, like a busy disk): two
// request threads log far more than that, and the queue's policy decides what is lost.
// With policy=block the request threads slow down to the disk's pace instead.
#include <bq/config.hpp>
#include <bq/fmt.hpp>
#include <bq/monitor.hpp>
#include <bq/spdlog.hpp>

#include <fmt/core.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

/// A file sink that takes `delay` per line: the disk this service cannot outrun.
class SlowFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  SlowFileSink(const std::string& path, std::chrono::microseconds delay)
      : file_(path, /*truncate=*/true), delay_(delay) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::this_thread::sleep_for(delay_);
    file_.log(msg);
  }
  void flush_() override { file_.flush(); }
  void set_pattern_(const std::string& pattern) override { file_.set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
    file_.set_formatter(std::move(formatter));
  }

 private:
  spdlog::sinks::basic_file_sink_st file_;
  std::chrono::microseconds delay_;
};

template <class Policy>
int run(const bq::QueueConfig& config, const std::string& path, std::chrono::seconds duration) {
  auto file = std::make_shared<SlowFileSink>(path, 20us);
  std::atomic<std::uint64_t> errors_dropped{0};
  // The drop handler runs in the logging thread: count what matters, never log from it.
  auto async = std::make_shared<bq::AsyncSink<Policy>>(config, std::vector<spdlog::sink_ptr>{file},
                                                       [&](const bq::DroppedLogMessage& dropped) {
                                                         if (dropped.level >= spdlog::level::err)
                                                           errors_dropped.fetch_add(1);
                                                       });
  spdlog::logger logger("service", async);
  logger.flush_on(spdlog::level::critical);  // a critical line waits until it is on disk

  bq::MonitorOptions options;
  options.interval = 1s;
  bq::QueueMonitor monitor(bq::LogSink{stderr}, options);
  monitor.watch("log", async->queue());

  std::atomic<bool> stop{false};
  std::vector<std::thread> requests;
  for (int worker = 0; worker < 2; ++worker) {
    requests.emplace_back([&, worker] {
      for (std::uint64_t id = 0; !stop.load(std::memory_order_relaxed); ++id) {
        logger.info("worker {} served request {} in {} us", worker, id, 40 + id % 200);
        if (id % 1000 == 999)
          logger.error("worker {}: request {} failed: upstream timeout", worker, id);
        std::this_thread::sleep_for(2us);  // some work between requests
      }
    });
  }
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& thread : requests) thread.join();
  logger.critical("shutting down");  // flush_on(critical): returns once it is written

  monitor.unwatch("log");
  async->close();  // writes what is still queued, flushes, joins the writer
  const bq::QueueMetrics m = async->metrics();
  fmt::print("policy {}: {}\n", config.policy, m);
  // A refused log message is lost too: log() has nowhere to keep it.
  fmt::print(
      "logged {}, written to {} {}, not written {} (evicted or refused; errors among "
      "them {}), sink errors {}\n",
      m.pushed + m.dropped_newest + m.timed_out, path, m.popped, m.dropped(), errors_dropped.load(),
      async->sink_errors());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::chrono::seconds duration = 3s;
  std::string text = "capacity=1024, policy=drop_oldest";
  std::string path = "spdlog_async.log";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--seconds") {
      duration = std::chrono::seconds(std::atoi(argv[i + 1]));
    } else if (flag == "--config") {
      text = argv[i + 1];
    } else if (flag == "--log") {
      path = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: spdlog_async [--seconds N] [--config TEXT] [--log FILE]\n");
      return 2;
    }
  }
  try {
    // One binary, the policy chosen by configuration: bq::Dynamic.
    return run<bq::Dynamic>(bq::parse_config(text), path, duration);
  } catch (const bq::ConfigError& e) {
    std::fprintf(stderr, "spdlog_async: %s\n", e.what());
    return 2;
  }
}
