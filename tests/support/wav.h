#ifndef LIVECALL_TESTS_SUPPORT_WAV_H_
#define LIVECALL_TESTS_SUPPORT_WAV_H_

// WAV files read the way a test wants to check them: every RIFF chunk walked and every size
// checked against the bytes present, independently of the library that wrote them; and the
// opposite, a plain 16-bit PCM WAV for fakes to answer with.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall::testing {

struct WavInfo {
  int format_tag = 0;  // 1 PCM, 7 μ-law
  int channels = 0;
  int sample_rate = 0;
  int byte_rate = 0;
  int block_align = 0;
  int bits_per_sample = 0;
  int64_t data_bytes = 0;
  // The `fact` chunk's sample count, or -1 without one.
  int64_t fact_samples = -1;
  std::string data;

  absl::Duration duration() const {
    return byte_rate > 0 ? absl::Seconds(static_cast<double>(data_bytes) / byte_rate)
                         : absl::ZeroDuration();
  }
};

// INVALID_ARGUMENT naming what is wrong: not RIFF/WAVE, a chunk or the RIFF size not matching
// the bytes, no fmt or data chunk.
absl::StatusOr<WavInfo> ParseWav(absl::string_view bytes);

// Mono 16-bit PCM WAV of `samples`.
std::string PcmWav(const std::vector<int16_t>& samples, int sample_rate);

// `seconds` of a tone at `hz`, as 16-bit samples.
std::vector<int16_t> Tone(double seconds, int sample_rate, double hz = 440);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_WAV_H_
