#ifndef LIVECALL_SERVICES_CALL_CONTROL_SPEECH_AUDIO_SERVICE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_SPEECH_AUDIO_SERVICE_H_

#include "common/queued_unary.h"
#include "livecall/v1/speech_audio.grpc.pb.h"
#include "services/call-control/tts/speech_synthesizer.h"

namespace livecall::call_control {

// livecall.v1.SpeechAudio: the synthesised audio behind the signed URLs that <Play> verbs name
// (GET /tts/{file_name} through the gateway, which writes the HttpBody raw).
// Served from completion queues (common/queued_unary.h); a synthesis blocks in place.
class SpeechAudioService final : public QueuedService<livecall::v1::SpeechAudio> {
 public:
  // Adds GetSpeechAudio to `unary`, which the same server serves.
  SpeechAudioService(tts::SpeechSynthesizer& synthesizer, QueuedUnaryMethods& unary);

 private:
  absl::Status GetSpeechAudio(const livecall::v1::GetSpeechAudioRequest& request,
                              livecall::v1::HttpBody& response);

  tts::SpeechSynthesizer& synthesizer_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_SPEECH_AUDIO_SERVICE_H_
