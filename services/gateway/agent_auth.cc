#include "services/gateway/agent_auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/jwt.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {
namespace {

// Printable ASCII without quotes or backslashes: safe in metadata and in a quoted header value.
bool IsPlainText(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(absl::string_view authorization,
                                                     absl::string_view secret, absl::Time now) {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.size() < 7 || !absl::StartsWithIgnoreCase(authorization, "Bearer ")) {
    return absl::UnauthenticatedError("the Authorization header is not \"Bearer <token>\"");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(7));
  absl::StatusOr<VerifiedJwt> verified = VerifyJwtHs256(token, secret, {.now = now});
  if (!verified.ok()) return absl::UnauthenticatedError(verified.status().message());
  AuthenticatedAgent agent;
  agent.agent_id = verified->StringClaim("sub");
  agent.role = verified->StringClaim("role");
  if (agent.role.empty()) agent.role = "agent";
  if (agent.agent_id.empty() || agent.agent_id.size() > 128 || !IsPlainText(agent.agent_id)) {
    return absl::UnauthenticatedError("invalid token: sub must be 1-128 printable characters");
  }
  if (agent.role.size() > 64 || !IsPlainText(agent.role)) {
    return absl::UnauthenticatedError("invalid token: role must be 1-64 printable characters");
  }
  return agent;
}

HttpResponse UnauthorizedResponse(absl::string_view message, bool token_was_sent) {
  HttpResponse response = HttpErrorResponse(401, "UNAUTHENTICATED", message);
  std::string challenge = "Bearer realm=\"livecall\"";
  if (token_was_sent) {
    std::string description;
    for (char c : message) {
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') description.push_back(c);
    }
    absl::StrAppend(&challenge, ", error=\"invalid_token\", error_description=\"", description,
                    "\"");
  }
  response.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  return response;
}

}  // namespace livecall::gateway
