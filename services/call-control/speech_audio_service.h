#ifndef LIVECALL_SERVICES_CALL_CONTROL_SPEECH_AUDIO_SERVICE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_SPEECH_AUDIO_SERVICE_H_

#include "common/executor.h"
#include "livecall/v1/speech_audio.grpc.pb.h"
#include "services/call-control/tts/speech_synthesizer.h"

namespace livecall::call_control {

// livecall.v1.SpeechAudio: the synthesised audio behind the signed URLs that <Play> verbs name
// (GET /tts/{file_name} through the gateway, which writes the HttpBody raw).
class SpeechAudioService final : public livecall::v1::SpeechAudio::CallbackService {
 public:
  SpeechAudioService(tts::SpeechSynthesizer& synthesizer, Executor& executor)
      : synthesizer_(synthesizer), executor_(executor) {}

  grpc::ServerUnaryReactor* GetSpeechAudio(grpc::CallbackServerContext* context,
                                           const livecall::v1::GetSpeechAudioRequest* request,
                                           livecall::v1::HttpBody* response) override;

 private:
  tts::SpeechSynthesizer& synthesizer_;
  Executor& executor_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_SPEECH_AUDIO_SERVICE_H_
