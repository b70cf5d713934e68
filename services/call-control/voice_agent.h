#ifndef LIVECALL_SERVICES_CALL_CONTROL_VOICE_AGENT_H_
#define LIVECALL_SERVICES_CALL_CONTROL_VOICE_AGENT_H_

// The AI voice agent's side of a call ("ai" mode): greet, then for each thing the caller says ask
// ai-session what to say and do next. Twilio's /twilio/gather renders the turns as TwiML
// (<Gather input="speech"> loop); the sandbox plays them against scripted customer lines. Both
// go through here, so a sandbox call behaves as a Twilio call does.

#include <string>

#include "livecall/v1/call_control.pb.h"
#include "services/call-control/ai_session_client.h"

namespace livecall::call_control {

// One move of the voice agent.
struct VoiceAgentTurn {
  // What to say to the caller, in `language` ("uz", "ru", "en").
  std::string text;
  std::string language;
  // "continue" (listen again), "goodbye" (hang up after speaking), "handoff" (connect a human).
  std::string action;
  // The caller's words counted as unclear (silence or low recogniser confidence).
  bool unclear = false;
};

class VoiceAgent {
 public:
  explicit VoiceAgent(AiSessionClient& ai) : ai_(ai) {}

  // The opening line: the call's text (the AI session's greeting, or PlaceCall's text).
  VoiceAgentTurn Greet(const livecall::v1::Call& call) const;

  // The caller said `speech` (empty: nothing) with recogniser `confidence` (0: unknown), after
  // `unclear_attempts` unclear answers in a row. When ai-session cannot answer (down, late, no
  // session) the caller is handed to a human agent rather than left in silence. Changes nothing in
  // the call store: the caller records hand-offs.
  VoiceAgentTurn Hear(const livecall::v1::Call& call, const std::string& speech, float confidence,
                      int unclear_attempts);

 private:
  AiSessionClient& ai_;
};

// What the agent says when ai-session cannot answer, in the call's language.
std::string VoiceAgentFailureLine(const std::string& language);
// What the agent says when it would hand over but no human agent is available.
std::string VoiceAgentBusyLine(const std::string& language);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_VOICE_AGENT_H_
