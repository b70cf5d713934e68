#include "services/call-control/speech.h"

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

}  // namespace livecall::call_control
