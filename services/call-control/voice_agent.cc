#include "services/call-control/voice_agent.h"

#include "common/log.h"
#include "common/utf8.h"

namespace livecall::call_control {
namespace {

std::string LanguageOf(const livecall::v1::Call& call) {
  return call.language().empty() ? "uz" : call.language();
}

}  // namespace

std::string VoiceAgentFailureLine(const std::string& language) {
  if (language == "ru") return "Извините, у нас техническая заминка. Соединяю вас с оператором.";
  if (language == "en")
    return "Sorry, we have a technical problem. I'm connecting you to an agent.";
  return "Kechirasiz, texnik nosozlik yuz berdi. Sizni operatorga ulayman.";
}

std::string VoiceAgentBusyLine(const std::string& language) {
  if (language == "ru") return "К сожалению, все операторы заняты. Пожалуйста, перезвоните позже.";
  if (language == "en") return "Sorry, all our agents are busy. Please call us again later.";
  return "Afsuski, barcha operatorlarimiz band. Iltimos, keyinroq qo'ng'iroq qiling.";
}

VoiceAgentTurn VoiceAgent::Greet(const livecall::v1::Call& call) const {
  if (call.text().empty()) {
    return {.text = VoiceAgentFailureLine(LanguageOf(call)),
            .language = LanguageOf(call),
            .action = "handoff"};
  }
  return {.text = call.text(), .language = LanguageOf(call), .action = "continue"};
}

VoiceAgentTurn VoiceAgent::Hear(const livecall::v1::Call& call, const std::string& speech,
                                float confidence, int unclear_attempts) {
  const VoiceAgentTurn failed = {.text = VoiceAgentFailureLine(LanguageOf(call)),
                                 .language = LanguageOf(call),
                                 .action = "handoff"};
  if (call.session_id().empty()) {
    LogWarning("voice agent without an AI session; handing over", {{"callSid", call.call_sid()}});
    return failed;
  }
  livecall::v1::ReplyToCallerRequest request;
  request.set_session_id(call.session_id());
  request.set_text(TruncateUtf8(speech, kMaxTurnTextLength));
  request.set_speech_confidence(confidence < 0 || confidence > 1 ? 0 : confidence);
  request.set_unclear_attempts(unclear_attempts < 0 ? 0 : unclear_attempts);
  absl::StatusOr<livecall::v1::CallerReply> reply = ai_.ReplyToCaller(request);
  if (!reply.ok()) {
    LogError("voice agent: ai-session did not answer; handing over",
             {{"callSid", call.call_sid()}, {"error", reply.status().ToString()}});
    return failed;
  }
  return {.text = reply->text(),
          .language = reply->language().empty() ? LanguageOf(call) : reply->language(),
          .action = reply->action(),
          .unclear = reply->unclear()};
}

}  // namespace livecall::call_control
