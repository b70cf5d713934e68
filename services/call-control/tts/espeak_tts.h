#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_ESPEAK_TTS_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_ESPEAK_TTS_H_

// Embedded speech synthesis with espeak-ng (Debian's libespeak-ng1 + espeak-ng-data), in-process
// and without a network: Uzbek ("uz"), Russian ("ru") and English ("en-us") voices. espeak-ng
// keeps its state in globals and is not re-entrant, so every synthesis in the process is
// serialised behind one mutex; a short prompt takes tens of milliseconds.

#include <string>

#include "absl/status/statusor.h"
#include "services/call-control/tts/tts_provider.h"

namespace livecall::call_control::tts {

class EspeakTts final : public TtsProvider {
 public:
  // Initialises espeak-ng once per process (the data from its default path, or from
  // `data_path` when not empty). FAILED_PRECONDITION when its data is missing.
  static absl::StatusOr<EspeakTts*> Get(const std::string& data_path = "");

  std::string provider() const override { return "espeak-ng"; }
  // espeak-ng's voice name for our language code ("uz", "ru", "en-us").
  std::string VoiceFor(absl::string_view language) const override;
  absl::StatusOr<Synthesis> Synthesize(absl::string_view text, absl::string_view language) override;

 private:
  explicit EspeakTts(int sample_rate) : sample_rate_(sample_rate) {}
  const int sample_rate_;
};

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_ESPEAK_TTS_H_
