#ifndef LIVECALL_SERVICES_CALL_CONTROL_SPEECH_H_
#define LIVECALL_SERVICES_CALL_CONTROL_SPEECH_H_

// What the suite says on a phone call, as one TwiML verb. configureTTS calls and every AI
// voice-agent turn speak through a SpeechRenderer, so the choice of voice (Twilio's <Say>, or
// audio of our own played with <Play>) lives in one place.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/call-control/tts/speech_synthesizer.h"
#include "services/call-control/twilio/twiml.h"

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

struct SpeechVoices {
  // Twilio voices for <Say> when the request names none (LIVECALL_TWILIO_VOICE_RU / _EN);
  // empty: Twilio's default for the language.
  std::string say_voice_ru;
  std::string say_voice_en;
  // Languages spoken with our own synthesised audio (<Play>) instead of <Say>
  // (LIVECALL_TTS_LANGUAGES). Uzbek always is: Twilio has no Uzbek voice.
  std::vector<std::string> own_audio_languages = {"uz"};
};

// Uzbek (and any language in `own_audio_languages`) as <Play> of audio we synthesised
// (tts/speech_synthesizer.h, served at LIVECALL_PUBLIC_URL/tts/<signed id>.wav); Russian and
// English as <Say> with a configured Twilio voice. A request's `voice` names a Twilio voice and
// applies to <Say> only.
class PhoneSpeechRenderer final : public SpeechRenderer {
 public:
  // `synthesizer` must outlive the renderer.
  PhoneSpeechRenderer(tts::SpeechSynthesizer& synthesizer, SpeechVoices voices)
      : synthesizer_(synthesizer), voices_(std::move(voices)) {}

  // Blocks while synthesising (a cache miss): call it from a worker thread.
  absl::StatusOr<TwimlElement> Render(const SpokenText& speech) override;

  // True when `language` is spoken with our own audio.
  bool SpeaksWithOwnAudio(absl::string_view language) const;

 private:
  tts::SpeechSynthesizer& synthesizer_;
  const SpeechVoices voices_;
};

// The URL a rendered <Play> names; empty for any other verb. Calls record it (Call.audio_url) so
// the console and tests can play what the callee hears.
std::string PlayedAudioUrl(const TwimlElement& verb);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_SPEECH_H_
