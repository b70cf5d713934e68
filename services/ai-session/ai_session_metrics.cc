#include "services/ai-session/ai_session_metrics.h"

#include <string>

#include "common/metrics.h"

namespace livecall::ai_session {

void RecordLlmFallback(absl::string_view purpose) {
  static auto& fallbacks = CounterFamily(
      "livecall_llm_fallbacks_total",
      "LLM requests that failed, were late or unusable, answered by the embedded engine instead.");
  fallbacks.Add({{"purpose", std::string(purpose)}}).Increment();
}

void RecordVoiceAgentReply(absl::string_view action, absl::string_view reason,
                           absl::string_view engine) {
  static auto& replies =
      CounterFamily("livecall_voice_agent_replies_total",
                    "AI voice-agent replies to callers by action, reason, engine.");
  replies
      .Add({{"action", std::string(action)},
            {"reason", std::string(reason)},
            {"engine", std::string(engine)}})
      .Increment();
}

void RecordSessionCacheTurn(absl::string_view outcome) {
  static auto& turns = CounterFamily(
      "livecall_session_cache_turns_total",
      "Customer and agent turns by how the session was found: hit (this replica's copy, one call "
      "to context), miss (read first), stale (the copy was refused and the session read) or "
      "shared (written through other replicas too: read first, no copy kept).");
  // Every turn counts one: each outcome's counter is looked up once, on its first turn
  // (Family::Add builds a label map and hashes it on every call).
  if (outcome == "hit") {
    static prometheus::Counter& hit = turns.Add({{"outcome", "hit"}});
    return hit.Increment();
  }
  if (outcome == "miss") {
    static prometheus::Counter& miss = turns.Add({{"outcome", "miss"}});
    return miss.Increment();
  }
  turns.Add({{"outcome", std::string(outcome)}}).Increment();
}

}  // namespace livecall::ai_session
