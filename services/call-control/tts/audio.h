#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_H_

// Audio as the phone network carries it: whatever a synthesiser produced (espeak-ng's 22 050 Hz
// PCM, a remote provider's 24 kHz WAV) becomes 8 kHz mono G.711 μ-law in a WAV container (format
// tag 7), which Twilio's <Play> accepts and plays without transcoding. Decoding and encoding are
// libsndfile's, resampling is libsoxr's (its anti-aliasing low-pass matters going down to 8 kHz).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall::call_control::tts {

inline constexpr int kPhoneSampleRate = 8000;
inline constexpr absl::string_view kWavContentType = "audio/wav";

// Mono 16-bit PCM.
struct PcmAudio {
  int sample_rate = 0;
  std::vector<int16_t> samples;
};

// Decodes an audio file held in memory (WAV, FLAC, Ogg, MP3: what libsndfile reads); several
// channels are mixed down. INVALID_ARGUMENT for bytes that are no audio, or no samples at all.
absl::StatusOr<PcmAudio> DecodeAudio(absl::string_view bytes);

// High-quality resampling to `sample_rate`.
absl::StatusOr<PcmAudio> Resample(const PcmAudio& audio, int sample_rate);

// 8 kHz mono μ-law WAV of `audio` (resampled first when needed).
absl::StatusOr<std::string> EncodePhoneWav(const PcmAudio& audio);

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_H_
