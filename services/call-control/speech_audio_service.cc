#include "services/call-control/speech_audio_service.h"

#include "absl/strings/str_cat.h"
#include "services/call-control/tts/audio.h"

namespace livecall::call_control {

SpeechAudioService::SpeechAudioService(tts::SpeechSynthesizer& synthesizer,
                                       QueuedUnaryMethods& unary)
    : synthesizer_(synthesizer) {
  MarkQueued("GetSpeechAudio");
  unary.Handle<livecall::v1::GetSpeechAudioRequest, livecall::v1::HttpBody>(
      "/livecall.v1.SpeechAudio/GetSpeechAudio",
      [this](const CallerIdentity&, grpc::ServerContextBase&,
             const livecall::v1::GetSpeechAudioRequest& request,
             livecall::v1::HttpBody& response) { return GetSpeechAudio(request, response); });
}

absl::Status SpeechAudioService::GetSpeechAudio(const livecall::v1::GetSpeechAudioRequest& request,
                                                livecall::v1::HttpBody& response) {
  absl::StatusOr<tts::AudioFile> audio = synthesizer_.Fetch(request.file_name());
  if (!audio.ok()) return audio.status();
  response.set_content_type(std::string(tts::kWavContentType));
  response.set_data(std::move(audio->wav));
  // The bytes behind an id never change: shared caches may keep them until the URL expires.
  response.set_cache_control(
      absl::StrCat("public, max-age=", std::max<int64_t>(0, absl::ToInt64Seconds(audio->max_age)),
                   ", immutable"));
  response.set_etag(absl::StrCat("\"", audio->key, "\""));
  return absl::OkStatus();
}

}  // namespace livecall::call_control
