#ifndef LIVECALL_SERVICES_AI_SESSION_LLM_PROMPTS_H_
#define LIVECALL_SERVICES_AI_SESSION_LLM_PROMPTS_H_

// What ai-session asks the LLM, and how it reads the answers. Every prompt carries the customer
// context and the most recent turns that fit the token budget; every answer is validated, and
// anything malformed is an error so the caller falls back to the embedded engine.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/context.pb.h"
#include "services/ai-session/llm_client.h"

namespace livecall::ai_session {

// A rough count for budgeting: one token per four bytes of UTF-8, which over-counts Cyrillic and
// so errs on the side of a shorter prompt.
int EstimateTokens(absl::string_view text);

std::vector<ChatMessage> SuggestionPrompt(const livecall::v1::Session& session, int token_budget);
std::vector<ChatMessage> SummaryPrompt(const livecall::v1::Session& session, int token_budget);
std::vector<ChatMessage> GreetingPrompt(const livecall::v1::Session& session,
                                        const std::string& embedded_greeting);

// The AI voice agent's next line to a caller on the phone (the conversation ends with their words).
std::vector<ChatMessage> CallerReplyPrompt(const livecall::v1::Session& session, int token_budget);

// {"suggestions":[{"text":"…","kind":"answer|next-step|warning"}]}, possibly wrapped in prose or
// a code fence. At most `limit`; source "llm".
absl::StatusOr<std::vector<livecall::v1::Suggestion>> ParseSuggestions(absl::string_view reply,
                                                                       size_t limit);
// {"text":"…","customer_intent":"…","agreed":"…","follow_ups":["…"]}; source "llm".
absl::StatusOr<livecall::v1::Summary> ParseSummary(absl::string_view reply);
// One short paragraph of plain text.
absl::StatusOr<std::string> ParseGreeting(absl::string_view reply);
// {"reply":"…","action":"continue|goodbye|handoff"}; text, action and engine "llm" set.
absl::StatusOr<livecall::v1::CallerReply> ParseCallerReply(absl::string_view reply);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_LLM_PROMPTS_H_
