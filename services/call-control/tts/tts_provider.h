#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_TTS_PROVIDER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_TTS_PROVIDER_H_

// The edge to a speech synthesiser: embedded espeak-ng (espeak_tts.h), or a remote
// OpenAI-compatible /v1/audio/speech server (remote_tts.h) that falls back to espeak-ng
// (fallback_tts.h). main.cc chooses. Text reaching a provider is already normalised
// (text_normalizer.h).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/call-control/tts/audio.h"

namespace livecall::call_control::tts {

struct Synthesis {
  PcmAudio audio;
  // Who made it and with which voice: part of the cache key, so a provider's fallback audio is
  // never cached as if the preferred provider had made it.
  std::string provider;  // "espeak-ng", "remote:<model>"
  std::string voice;
};

class TtsProvider {
 public:
  virtual ~TtsProvider() = default;

  // The provider and voice that would speak `language` when everything works (the cache key
  // that is looked up before synthesising).
  virtual std::string provider() const = 0;
  virtual std::string VoiceFor(absl::string_view language) const = 0;

  // Speaks `text` in `language` ("uz", "ru" or "en"). Blocks: call it from a worker thread.
  virtual absl::StatusOr<Synthesis> Synthesize(absl::string_view text,
                                               absl::string_view language) = 0;
};

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_TTS_PROVIDER_H_
