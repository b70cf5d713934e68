#ifndef LIVECALL_SERVICES_AI_SESSION_GREETING_H_
#define LIVECALL_SERVICES_AI_SESSION_GREETING_H_

// The embedded engine's greeting: a template per language (uz, ru, en) filled with what the
// customer context knows (first name, an open issue). Used when no LLM is configured or it fails.

#include <string>

#include "livecall/v1/context.pb.h"

namespace livecall::ai_session {

// `language` must be "uz", "ru" or "en"; `direction` is "outbound" or "inbound".
std::string BuildGreeting(const livecall::v1::Customer& customer, const std::string& language,
                          const std::string& direction);

// The first word of a full name ("Dilshod Karimov" -> "Dilshod"); empty for an empty name.
std::string FirstName(const std::string& full_name);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_GREETING_H_
