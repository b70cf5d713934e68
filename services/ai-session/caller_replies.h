#ifndef LIVECALL_SERVICES_AI_SESSION_CALLER_REPLIES_H_
#define LIVECALL_SERVICES_AI_SESSION_CALLER_REPLIES_H_

// The embedded engine of the AI voice agent: what it says to a caller and whether it goes on,
// says goodbye or hands the caller to a human agent. Deterministic; the answer whenever no LLM is
// configured or the LLM fails or is late.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/context.pb.h"

namespace livecall::ai_session {

struct VoiceAgentOptions {
  // Below this the top knowledge-base answer is not said to a caller; a human agent takes over.
  double min_answer_confidence = 0.35;
  // A recogniser confidence below this (and above 0, which means "not given") counts as unclear.
  double min_speech_confidence = 0.25;
  // After this many unclear answers in a row: goodbye (silence) or a human agent (unclear words).
  int max_unclear_attempts = 2;
};

enum class CallerIntent { kOther, kGoodbye, kHumanAgent };

// What the caller's words ask for, by phrases in Uzbek (Latin and Cyrillic), Russian and English,
// matched on normalised tokens ("operator bilan gaplashmoqchiman", "соедините с оператором",
// "can I talk to a person"). A request for a human wins over a goodbye.
CallerIntent DetectCallerIntent(absl::string_view text);

// The fixed lines of the voice agent in "uz", "ru" or "en".
struct VoiceLines {
  const char* did_not_hear;    // Silence: ask again.
  const char* did_not_catch;   // Unintelligible: ask again.
  const char* goodbye;         // The caller said goodbye.
  const char* silent_goodbye;  // The caller stayed silent.
  const char* handoff;         // Connecting to a human agent.
  const char* anything_else;   // Appended after an answer.
};
const VoiceLines& VoiceLinesFor(const std::string& language);

// The embedded reply in the session's language. `answers` are the knowledge-base entries ranked by
// the caller's words alone (AnswersTo), best first: the agent says only what answers what the
// caller said, never a guess from the conversation around it. `request.text` empty or below the
// speech confidence floor is unclear.
livecall::v1::CallerReply EmbeddedCallerReply(const livecall::v1::Session& session,
                                              const livecall::v1::ReplyToCallerRequest& request,
                                              const std::vector<livecall::v1::Suggestion>& answers,
                                              const VoiceAgentOptions& options);

// Whether the caller's words count as unclear (nothing said, or the recogniser was unsure).
bool IsUnclearSpeech(const livecall::v1::ReplyToCallerRequest& request,
                     const VoiceAgentOptions& options);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_CALLER_REPLIES_H_
