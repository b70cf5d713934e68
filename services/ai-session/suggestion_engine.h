#ifndef LIVECALL_SERVICES_AI_SESSION_SUGGESTION_ENGINE_H_
#define LIVECALL_SERVICES_AI_SESSION_SUGGESTION_ENGINE_H_

// The embedded engine's suggestions for the human agent, from the knowledge base and the
// customer's context.

#include <string>
#include <vector>

#include "livecall/v1/context.pb.h"
#include "services/ai-session/knowledge_base.h"

namespace livecall::ai_session {

inline constexpr size_t kMaxSuggestions = 3;

// At call start: the entries that match the customer's open issue, then identity verification
// as the next step. Ids are "<kb id>" so the page can de-duplicate across updates.
std::vector<livecall::v1::Suggestion> InitialSuggestions(const KnowledgeBase& kb,
                                                         const livecall::v1::Customer& customer,
                                                         const std::string& language);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_SUGGESTION_ENGINE_H_
