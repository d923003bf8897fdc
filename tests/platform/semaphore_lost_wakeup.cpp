// Reproducer, not part of the test suite: does the standard library's
// std::binary_semaphore lose a release? It does with GCC 12's libstdc++ on MinGW
// (no futex: its atomic wait reads the count, then waits on a condition
// variable, and a notify in between is lost), which is why detail/stop.hpp does
// not use a std::stop_callback there (its destructor waits on such a semaphore).
//
// Each round the main thread releases after a short spin of random length while
// the other thread acquires. A release counts as lost when the acquirer is still
// waiting 500 ms after it; the program then reports it and exits 1 (the acquirer
// can no longer be woken: a second release finds the count above zero and
// notifies nobody). Build and run under wine (about 4 minutes per 20000 rounds):
//
//   x86_64-w64-mingw32-g++-posix -std=c++20 -O1 -static -o semaphore_lost_wakeup.exe
//       tests/platform/semaphore_lost_wakeup.cpp
//   wine64 semaphore_lost_wakeup.exe 20000
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <semaphore>
#include <thread>

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 20000;
  std::binary_semaphore semaphore{0};
  std::atomic<int> round{-1};
  std::atomic<int> acquired{-1};
  std::thread acquirer([&] {
    for (int r = 0; r < rounds; ++r) {
      while (round.load() != r) {
      }
      semaphore.acquire();
      acquired.store(r);
    }
  });
  unsigned seed = 12345;
  for (int r = 0; r < rounds; ++r) {
    round.store(r);
    seed = seed * 1103515245u + 12345u;
    const unsigned spins = (seed >> 16) % 4000;
    for (unsigned i = 0; i < spins; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
    semaphore.release();
    const auto released = std::chrono::steady_clock::now();
    while (acquired.load() != r) {
      if (std::chrono::steady_clock::now() - released > std::chrono::milliseconds(500)) {
        std::printf("round %d of %d: the release was lost; the acquirer still waits\n", r + 1,
                    rounds);
        std::fflush(stdout);
        std::_Exit(1);
      }
      std::this_thread::yield();
    }
  }
  acquirer.join();
  std::printf("%d rounds, no release lost\n", rounds);
  return 0;
}
