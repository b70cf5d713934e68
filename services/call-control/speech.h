#ifndef LIVECALL_SERVICES_CALL_CONTROL_SPEECH_H_
#define LIVECALL_SERVICES_CALL_CONTROL_SPEECH_H_

// What the suite says on a phone call, as one TwiML verb. configureTTS calls and every AI
// voice-agent turn speak through a SpeechRenderer, so the choice of voice (Twilio's <Say>, or
// audio of our own played with <Play>) lives in one place.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/call-control/twiml.h"

namespace livecall::call_control {

struct SpokenText {
  std::string text;
  // "uz", "ru" or "en".
  std::string language;
  // A Twilio voice name ("Polly.Tatyana", "Google.en-US-Neural2-A"); empty for the default.
  std::string voice;
};

class SpeechRenderer {
 public:
  virtual ~SpeechRenderer() = default;
  virtual absl::StatusOr<TwimlElement> Render(const SpokenText& speech) = 0;
};

// Twilio's <Say> language for ours; empty for Uzbek, which has no Twilio voice (NOTES §8).
std::string SayLanguage(absl::string_view language);

// <Say voice language>text</Say> with Twilio's own voices.
class SayRenderer final : public SpeechRenderer {
 public:
  absl::StatusOr<TwimlElement> Render(const SpokenText& speech) override;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_SPEECH_H_
