#ifndef LIVECALL_SERVICES_GATEWAY_AGENT_AUTH_H_
#define LIVECALL_SERVICES_GATEWAY_AGENT_AUTH_H_

// Agents' bearer tokens: `Authorization: Bearer <JWT>`, HS256 with LIVECALL_JWT_SECRET
// (common/jwt.h). The verified `sub` is the agent's id and `role` its role ("agent" when absent);
// the gateway forwards both to the backends as x-livecall-agent and x-livecall-role, and never
// forwards those headers from a client. Routes marked (livecall.v1.requires_agent) need a valid
// token; making it mandatory everywhere is the security issue's, and uses this same check.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/gateway/http_response.h"

namespace livecall::gateway {

inline constexpr char kAgentMetadata[] = "x-livecall-agent";
inline constexpr char kRoleMetadata[] = "x-livecall-role";

struct AuthenticatedAgent {
  std::string agent_id;
  std::string role;
};

// UNAUTHENTICATED (with a message for WWW-Authenticate) when the header is not "Bearer <token>",
// the token does not verify, has expired, or has no usable `sub`.
absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(absl::string_view authorization,
                                                     absl::string_view secret,
                                                     absl::Time now = absl::InfinitePast());

// 401 in the one error shape, with `WWW-Authenticate: Bearer realm="livecall"` (RFC 6750).
HttpResponse UnauthorizedResponse(absl::string_view message, bool token_was_sent);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_AGENT_AUTH_H_
