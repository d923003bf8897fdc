// A main for fuzz targets without libFuzzer: runs each given file, and every regular
// file of each given directory (in name order), once through LLVMFuzzerTestOneInput.
// Built with any compiler as <target>_replay, so `ctest` replays every seed corpus.
//
// Usage: fuzz_x_replay [file-or-directory...]
// The empty input always runs first, as libFuzzer does. A missing directory is
// reported and skipped (a target may not have a corpus yet); a crash, a sanitizer
// report or an assertion fails the run, and the last "replay:" line names the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
#if defined(__GNUC__) || defined(__clang__)
// Optional, as with libFuzzer: defined only by targets that need set-up.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);
#endif

namespace {

// Runs one input from an exact-size heap copy, so AddressSanitizer catches reads
// past its end just as it does under libFuzzer.
void run_one(const std::vector<char>& bytes) {
  auto copy = std::make_unique<std::uint8_t[]>(bytes.size() + (bytes.empty() ? 1 : 0));
  std::copy(bytes.begin(), bytes.end(), copy.get());
  LLVMFuzzerTestOneInput(copy.get(), bytes.size());
}

bool run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.string().c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  std::printf("replay: %s (%zu bytes)\n", path.string().c_str(), bytes.size());
  std::fflush(stdout);  // the last line printed names the input if the next call crashes
  run_one(bytes);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GNUC__) || defined(__clang__)
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
#endif
  std::printf("replay: <empty input>\n");
  std::fflush(stdout);
  run_one({});

  std::size_t replayed = 1;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        ok = run_file(file) && ok;
        ++replayed;
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      ok = run_file(arg) && ok;
      ++replayed;
    } else {
      std::printf("replay: note: %s does not exist; nothing to replay from it\n", argv[i]);
    }
  }
  std::printf("replay: %zu inputs replayed%s\n", replayed, ok ? "" : ", some unreadable");
  return ok ? 0 : 1;
}
