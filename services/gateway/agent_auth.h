#ifndef LIVECALL_SERVICES_GATEWAY_AGENT_AUTH_H_
#define LIVECALL_SERVICES_GATEWAY_AGENT_AUTH_H_

// Agents' bearer tokens: `Authorization: Bearer <JWT>`, verified with the configured keys
// (common/jwt.h: HS256 with LIVECALL_JWT_SECRET, RS256/ES256 with LIVECALL_JWT_PUBLIC_KEY_FILE).
// The verified `sub` is the agent's id and `role` its role ("agent" when absent; "supervisor" and
// "service" are the others); the gateway forwards both to the backends as x-livecall-agent and
// x-livecall-role (common/caller_identity.h), and never forwards those headers from a client.
// Which routes need a token is the route table's (RouteAccess); this file only checks one.

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"
#include "common/jwt.h"
#include "livecall/v1/auth.pb.h"
#include "services/gateway/http_response.h"

namespace livecall::gateway {

struct AuthenticatedAgent {
  std::string agent_id;
  Role role = kRoleAgent;
  // The token's exp: a live-event stream it opens ends then.
  absl::Time expires_at = absl::InfiniteFuture();
};

// The `iss` of the dev login's tokens, which marks them: a gateway with the dev login off refuses
// them, so a token minted on a development gateway is no key to one in production that shares
// its secret.
inline constexpr absl::string_view kDevLoginIssuer = "livecall-dev-login";

struct AgentAuthOptions {
  // Leeway, and the aud and lifetime rules (LIVECALL_JWT_AUDIENCE, LIVECALL_JWT_MAX_LIFETIME_S).
  JwtVerifyOptions jwt;
  // Not empty: the `iss` every token must carry (LIVECALL_JWT_ISSUER); the dev login's own
  // tokens are the one exception while the dev login is on.
  std::string issuer;
  // LIVECALL_DEV_LOGIN: whether tokens with iss kDevLoginIssuer are accepted.
  bool dev_login = false;
};

// The tokens that verified, and whom they proved, so that an agent's every request does not
// decode, parse (two JSON documents) and check its token again. A token is taken from here only
// until its exp (less one second, within the leeway): every other check of a token (signature,
// aud, iss, nbf, iat, lifetime) that passed once passes at any later time, and exp is the only
// one that a later time fails. Refused tokens are never kept, so a flood of forged tokens cannot
// fill it. Thread-safe. When full it starts again empty: a bound, not a policy.
class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(size_t capacity = 4096) : capacity_(capacity) {}

  // The agent `token` proved, when it verified before and is still valid at `now`.
  std::optional<AuthenticatedAgent> Find(absl::string_view token, absl::Time now) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Keeps `agent`, proved by `token`, until `valid_until`.
  void Remember(absl::string_view token, const AuthenticatedAgent& agent, absl::Time valid_until)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    AuthenticatedAgent agent;
    absl::Time valid_until;
  };
  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> tokens_ ABSL_GUARDED_BY(mu_);
};

// UNAUTHENTICATED (with a message for WWW-Authenticate) when the header is not "Bearer <token>",
// the token does not verify, has expired, fails the aud/iss/lifetime rules, is a dev-login token
// while the dev login is off, or has no usable `sub` or an unknown `role`. With `cache`, a token
// that verified before (under these same options and verifier) is answered from there.
absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(absl::string_view authorization,
                                                     const JwtVerifier& verifier,
                                                     const AgentAuthOptions& options = {},
                                                     VerifiedTokenCache* cache = nullptr);

// 401 in the one error shape, with `WWW-Authenticate: Bearer realm="livecall"` and, when a token
// was sent, `error="invalid_token"` (RFC 6750 §3).
HttpResponse UnauthorizedResponse(absl::string_view message, bool token_was_sent);
// 403 for a valid token whose role the route does not allow (`error="insufficient_scope"`).
HttpResponse InsufficientRoleResponse(absl::string_view message);

// A dev-login agent id: 1-64 letters, digits, '_' and '-' (it becomes the Twilio client identity).
bool IsValidDevLoginAgentId(absl::string_view agent_id);

// The dev login's answer: an HS256 token signed with `secret` for the request's agent and role
// (default "agent"), valid from `now` for `ttl`, with iss kDevLoginIssuer and, when `audience` is
// not empty, that aud. INVALID_ARGUMENT for a bad agent id or role.
absl::StatusOr<livecall::v1::DevLoginResponse> DevLogin(
    const livecall::v1::DevLoginRequest& request, absl::string_view secret, absl::Duration ttl,
    absl::Time now, absl::string_view audience = "");

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_AGENT_AUTH_H_
