#include "services/gateway/agent_auth.h"

#include <google/protobuf/struct.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/caller_identity.h"
#include "services/gateway/error_response.h"
#include "services/gateway/json_output.h"

namespace livecall::gateway {
namespace {

// What may stand inside a quoted header value.
std::string QuotedHeaderText(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out.push_back(c);
  }
  return out;
}

}  // namespace

std::optional<AuthenticatedAgent> VerifiedTokenCache::Find(absl::string_view token,
                                                           absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end() || now >= it->second.valid_until) return std::nullopt;
  return it->second.agent;
}

void VerifiedTokenCache::Remember(absl::string_view token, const AuthenticatedAgent& agent,
                                  absl::Time valid_until) {
  absl::MutexLock lock(&mu_);
  if (tokens_.size() >= capacity_) tokens_.clear();
  tokens_.insert_or_assign(std::string(token), Entry{agent, valid_until});
}

absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(absl::string_view authorization,
                                                     const JwtVerifier& verifier,
                                                     const AgentAuthOptions& options,
                                                     VerifiedTokenCache* cache) {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.size() < 7 || !absl::StartsWithIgnoreCase(authorization, "Bearer ")) {
    return absl::UnauthenticatedError("the Authorization header is not \"Bearer <token>\"");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(7));
  const absl::Time now = options.jwt.now == absl::InfinitePast() ? absl::Now() : options.jwt.now;
  if (cache != nullptr) {
    if (std::optional<AuthenticatedAgent> known = cache->Find(token, now)) return *known;
  }
  JwtVerifyOptions rules = options.jwt;
  rules.now = now;
  if (!options.issuer.empty()) {
    rules.issuers = {options.issuer};
    if (options.dev_login) rules.issuers.emplace_back(kDevLoginIssuer);
  }
  absl::StatusOr<VerifiedJwt> verified = verifier.Verify(token, rules);
  if (!verified.ok()) return absl::UnauthenticatedError(verified.status().message());
  if (!options.dev_login && verified->StringClaim("iss") == kDevLoginIssuer) {
    return absl::UnauthenticatedError(
        "invalid token: a dev-login token, and this gateway's dev login is off");
  }
  AuthenticatedAgent agent;
  agent.agent_id = verified->StringClaim("sub");
  const std::string role = verified->StringClaim("role");
  if (auto exp = verified->payload.fields().find("exp");
      exp != verified->payload.fields().end() && exp->second.has_number_value()) {
    agent.expires_at = absl::FromUnixSeconds(static_cast<int64_t>(exp->second.number_value()));
  }
  if (!IsValidAgentIdentity(agent.agent_id)) {
    return absl::UnauthenticatedError("invalid token: sub must be 1-128 printable characters");
  }
  // No role claim: an agent.
  const std::optional<Role> parsed = role.empty() ? kRoleAgent : ParseRole(role);
  if (!parsed.has_value()) {
    return absl::UnauthenticatedError("invalid token: role must be agent, supervisor or service");
  }
  agent.role = *parsed;
  if (cache != nullptr) {
    // exp was truncated to whole seconds in expires_at; the second's margin keeps the cached
    // verdict strictly within what a fresh verification would accept (now < exp + leeway).
    const absl::Time valid_until = agent.expires_at == absl::InfiniteFuture()
                                       ? absl::InfiniteFuture()
                                       : agent.expires_at + options.jwt.leeway - absl::Seconds(1);
    cache->Remember(token, agent, valid_until);
  }
  return agent;
}

HttpResponse UnauthorizedResponse(absl::string_view message, bool token_was_sent) {
  HttpResponse response = HttpErrorResponse(401, "UNAUTHENTICATED", message);
  std::string challenge = "Bearer realm=\"livecall\"";
  if (token_was_sent) {
    absl::StrAppend(&challenge, ", error=\"invalid_token\", error_description=\"",
                    QuotedHeaderText(message), "\"");
  }
  response.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  return response;
}

HttpResponse InsufficientRoleResponse(absl::string_view message) {
  HttpResponse response = HttpErrorResponse(403, "PERMISSION_DENIED", message);
  response.headers.emplace_back(
      "WWW-Authenticate",
      absl::StrCat("Bearer realm=\"livecall\", error=\"insufficient_scope\", error_description=\"",
                   QuotedHeaderText(message), "\""));
  return response;
}

bool IsValidDevLoginAgentId(absl::string_view agent_id) {
  if (agent_id.empty() || agent_id.size() > 64) return false;
  for (char c : agent_id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

absl::StatusOr<livecall::v1::DevLoginResponse> DevLogin(
    const livecall::v1::DevLoginRequest& request, absl::string_view secret, absl::Duration ttl,
    absl::Time now, absl::string_view audience) {
  if (!IsValidDevLoginAgentId(request.agent_id())) {
    return absl::InvalidArgumentError(
        "agentId must be 1-64 letters, digits, '_' or '-' (it becomes the Twilio client "
        "identity)");
  }
  const Role role = request.role() == livecall::v1::ROLE_UNSPECIFIED ? kRoleAgent : request.role();
  // JSON names a role by its spelling, but also takes a number this version may not know.
  if (!livecall::v1::Role_IsValid(role)) {
    return absl::InvalidArgumentError("role must be agent, supervisor or service");
  }
  const int64_t issued = absl::ToUnixSeconds(now);
  const int64_t expires = issued + absl::ToInt64Seconds(ttl);
  google::protobuf::Struct header;
  (*header.mutable_fields())["alg"] = JsonString("HS256");
  (*header.mutable_fields())["typ"] = JsonString("JWT");
  google::protobuf::Struct claims;
  auto& fields = *claims.mutable_fields();
  fields["sub"] = JsonString(request.agent_id());
  fields["role"] = JsonString(RoleName(role));
  fields["iat"].set_number_value(static_cast<double>(issued));
  fields["nbf"].set_number_value(static_cast<double>(issued));
  fields["exp"].set_number_value(static_cast<double>(expires));
  fields["iss"] = JsonString(kDevLoginIssuer);
  if (!audience.empty()) fields["aud"] = JsonString(audience);
  livecall::v1::DevLoginResponse response;
  response.set_token(SignJwtHs256(PrintJson(header), PrintJson(claims), secret));
  response.set_agent_id(request.agent_id());
  response.set_role(role);
  response.mutable_expires_at()->set_seconds(expires);
  return response;
}

}  // namespace livecall::gateway
