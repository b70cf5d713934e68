#ifndef LIVECALL_SERVICES_AI_SESSION_AI_SESSION_METRICS_H_
#define LIVECALL_SERVICES_AI_SESSION_AI_SESSION_METRICS_H_

// ai-session's own metrics (the shared ones are in common/metrics.h):
//
//   livecall_llm_fallbacks_total{purpose}
//   livecall_voice_agent_replies_total{action,reason,engine}
//   livecall_session_cache_turns_total{outcome}

#include "absl/strings/string_view.h"

namespace livecall::ai_session {

// The LLM failed, was late or answered something unusable for `purpose` ("greeting",
// "suggestions", "summary", "caller-reply"), and the embedded engine answered instead.
void RecordLlmFallback(absl::string_view purpose);

// One AI voice-agent reply: its action ("continue", "goodbye", "handoff"), reason and engine.
void RecordVoiceAgentReply(absl::string_view action, absl::string_view reason,
                           absl::string_view engine);

// How AddTurn came by its session: "hit" (this replica's copy), "miss" (read, no copy) or
// "stale" (read again after context refused the copy's version).
void RecordSessionCacheTurn(absl::string_view outcome);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_AI_SESSION_METRICS_H_
