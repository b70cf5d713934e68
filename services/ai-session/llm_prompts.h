#ifndef LIVECALL_SERVICES_AI_SESSION_LLM_PROMPTS_H_
#define LIVECALL_SERVICES_AI_SESSION_LLM_PROMPTS_H_

// What ai-session asks the LLM, and how it reads the answers. Every prompt carries the customer
// context and the most recent turns that fit the token budget; every answer is validated, and
// anything malformed is an error so the caller falls back to the embedded engine.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/context.pb.h"
#include "services/ai-session/llm_client.h"

namespace livecall::ai_session {

// A rough count for budgeting: one token per four bytes of UTF-8, which over-counts Cyrillic and
// so errs on the side of a shorter prompt.
int EstimateTokens(absl::string_view text);

// How many of the newest turns of `session` a prompt of at most `token_budget` tokens may show,
// now and after any turns are appended: the newest ones up to and including the first that would
// overflow the budget. A copy cut to these turns gives the same prompts.
int TurnsReadByPrompts(const livecall::v1::Session& session, int token_budget);
// The same with `turns` (oldest first) as the conversation.
int TurnsReadByPrompts(absl::Span<const livecall::v1::Turn* const> turns, int token_budget);

std::vector<ChatMessage> SuggestionPrompt(const livecall::v1::Session& session, int token_budget);
std::vector<ChatMessage> SummaryPrompt(const livecall::v1::Session& session, int token_budget);
std::vector<ChatMessage> GreetingPrompt(const livecall::v1::Session& session,
                                        const std::string& embedded_greeting);

// The AI voice agent's next line to a caller on the phone (the conversation ends with their words).
// The voice agent speaks to whoever answers, so its prompt (and the greeting's, which an AI call
// opens with) carries only the customer's name, language and open request (the "open_issue"
// attribute), never the other attributes or the notes.
std::vector<ChatMessage> CallerReplyPrompt(const livecall::v1::Session& session, int token_budget);

// Whether `text`, about to be spoken, says customer data the voice agent was not given: a note,
// an attribute value other than the open request: all of it, or any three of its words in a row
// (compared as normalised tokens, so case, script and punctuation do not hide it). The spoken
// text is then replaced.
bool SaysWithheldCustomerData(absl::string_view text, const livecall::v1::Session& session);

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
