#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_REMOTE_TTS_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_REMOTE_TTS_H_

// A remote OpenAI-compatible speech endpoint (OpenAI, or a self-hosted server speaking the same
// API): POST <base>/v1/audio/speech {"model","input","voice","response_format":"wav"} answers the
// audio file. The whole exchange must finish within `deadline`; a late, failed or undecodable
// answer is an error, and SpeechSynthesizer falls back to espeak-ng.

#include <string>

#include "absl/time/time.h"
#include "common/http_client.h"
#include "services/call-control/tts/tts_provider.h"

namespace livecall::call_control::tts {

struct RemoteTtsOptions {
  std::string base_url;  // LIVECALL_TTS_BASE_URL ("https://api.openai.com" or ".../v1")
  std::string api_key;   // LIVECALL_TTS_API_KEY; empty: no Authorization header
  std::string model;     // LIVECALL_TTS_MODEL
  std::string voice;     // LIVECALL_TTS_VOICE
  absl::Duration deadline = absl::Seconds(4);  // LIVECALL_TTS_DEADLINE_MS
};

// "<base>/v1/audio/speech", whether or not the base already ends in /v1.
std::string AudioSpeechUrl(const std::string& base_url);

class RemoteTts final : public TtsProvider {
 public:
  // `http` must outlive the provider.
  RemoteTts(HttpClient& http, RemoteTtsOptions options)
      : http_(http), options_(std::move(options)) {}

  std::string provider() const override { return "remote:" + options_.model; }
  std::string VoiceFor(absl::string_view language) const override { return options_.voice; }
  // DEADLINE_EXCEEDED when late, UNAVAILABLE when unreachable or answering an HTTP error,
  // INVALID_ARGUMENT when the answer is no audio.
  absl::StatusOr<Synthesis> Synthesize(absl::string_view text, absl::string_view language) override;

 private:
  HttpClient& http_;
  const RemoteTtsOptions options_;
};

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_REMOTE_TTS_H_
