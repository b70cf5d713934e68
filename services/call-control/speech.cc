#include "services/call-control/speech.h"

#include "absl/strings/ascii.h"

namespace livecall::call_control {

std::string SayLanguage(absl::string_view language) {
  if (language == "ru") return "ru-RU";
  if (language == "en") return "en-US";
  return "";
}

absl::StatusOr<TwimlElement> SayRenderer::Render(const SpokenText& speech) {
  TwimlElement say = Verb("Say", speech.text);
  if (!speech.voice.empty()) say.Attr("voice", speech.voice);
  if (const std::string language = SayLanguage(speech.language); !language.empty()) {
    say.Attr("language", language);
  }
  return say;
}

bool PhoneSpeechRenderer::SpeaksWithOwnAudio(absl::string_view language) const {
  if (language.empty() || language == "uz") return true;
  for (const std::string& own : voices_.own_audio_languages) {
    if (own == language) return true;
  }
  return false;
}

absl::StatusOr<TwimlElement> PhoneSpeechRenderer::Render(const SpokenText& speech) {
  const std::string language = speech.language.empty() ? "uz" : speech.language;
  // Nothing to say (an agent's call has no text): a <Say/> that says nothing, not an error.
  const bool blank = absl::StripAsciiWhitespace(speech.text).empty();
  if (SpeaksWithOwnAudio(language) && !blank) {
    absl::StatusOr<std::string> url = synthesizer_.AudioUrl(speech.text, language);
    if (!url.ok()) return url.status();
    return Verb("Play", *url);
  }
  SpokenText said = speech;
  if (said.voice.empty() && language == "ru") said.voice = voices_.say_voice_ru;
  if (said.voice.empty() && language == "en") said.voice = voices_.say_voice_en;
  return SayRenderer().Render(said);
}

std::string PlayedAudioUrl(const TwimlElement& verb) {
  return verb.name == "Play" ? verb.text : std::string();
}

}  // namespace livecall::call_control
