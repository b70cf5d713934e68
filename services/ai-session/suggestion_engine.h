#ifndef LIVECALL_SERVICES_AI_SESSION_SUGGESTION_ENGINE_H_
#define LIVECALL_SERVICES_AI_SESSION_SUGGESTION_ENGINE_H_

// The embedded engine: suggestions for the human agent and the end-of-call summary, from the
// knowledge base, the conversation and the customer's context. Deterministic and fast; it is the
// answer whenever no LLM is configured or the LLM fails or is late.

#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "livecall/v1/context.pb.h"
#include "services/ai-session/knowledge_base.h"

namespace livecall::ai_session {

inline constexpr size_t kMaxSuggestions = 3;

// A text's knowledge-base terms as a session's copy keeps them (null: not looked up yet).
using KeptTerms = std::shared_ptr<const KnowledgeBase::TextTerms>;

// At call start: the entries that match the customer's open issue, then identity verification
// as the next step. With `open_issue_terms`, the open issue's terms (when it has one) are left
// there for the session's copy, as TurnSuggestions would look them up.
std::vector<livecall::v1::Suggestion> InitialSuggestions(const KnowledgeBase& kb,
                                                         const livecall::v1::Customer& customer,
                                                         const std::string& language,
                                                         KeptTerms* open_issue_terms = nullptr);

// After a turn: entries ranked against the latest customer words (weighted most), the turns just
// before them and the customer's open issue; a clarifying question after them when fewer than
// three entries match, alone when nothing does (small talk).
std::vector<livecall::v1::Suggestion> TurnSuggestions(const KnowledgeBase& kb,
                                                      const livecall::v1::Session& session);

// Entries ranked by `words` alone (no conversation, no customer attributes): what answers exactly
// what someone just said, e.g. the voice agent's reply to a caller.
// How many of the newest turns of `session` TurnSuggestions reads, now and after any turns are
// appended: back to the newest customer turn and to the (kContextTurns + 1)-th newest customer or
// agent turn, whichever is further. A copy cut to these turns gives the same suggestions.
int TurnsReadBySuggestions(const livecall::v1::Session& session);

// The same two with `turns` (oldest first) as the conversation of `session`, whose own
// conversation is not read: a turn is suggested for from a kept copy's turns and the new one
// without copying them into a Session.
std::vector<livecall::v1::Suggestion> TurnSuggestions(
    const KnowledgeBase& kb, const livecall::v1::Session& session,
    absl::Span<const livecall::v1::Turn* const> turns);
int TurnsReadBySuggestions(absl::Span<const livecall::v1::Turn* const> turns);

// TurnSuggestions over `turns` with the terms kept for them (`turn_terms[i]` for `turns[i]`) and
// for the customer's open issue: the same suggestions, but a text whose terms are kept (looked up
// in the session's language) is not looked up again. Each text read whose terms were missing or
// for another language gets them, so the copy can keep them for the next turn.
std::vector<livecall::v1::Suggestion> TurnSuggestions(
    const KnowledgeBase& kb, const livecall::v1::Session& session,
    absl::Span<const livecall::v1::Turn* const> turns, absl::Span<KeptTerms> turn_terms,
    KeptTerms* open_issue_terms);

std::vector<livecall::v1::Suggestion> AnswersTo(const KnowledgeBase& kb, absl::string_view words,
                                                const std::string& language);

// The end-of-call summary in the session's language.
livecall::v1::Summary EmbeddedSummary(const KnowledgeBase& kb,
                                      const livecall::v1::Session& session);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_SUGGESTION_ENGINE_H_
