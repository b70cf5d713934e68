#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_AUTH_STAGE_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_AUTH_STAGE_H_

// Verifies the bearer token of a kBearer route (agent_auth.h: signature, lifetime, aud, iss, the
// dev login's tokens) and records the verdict in the exchange: the caller, or the 401 to answer.
// It answers nothing itself: rate_limit_stage first counts the request against the verified
// agent's bucket, or else its address's — so a flood of forged tokens is limited too — and
// access_stage then answers the 401. Tokens that verified are remembered until their exp
// (agent_auth.h's VerifiedTokenCache): an agent's requests after its first skip the JSON parsing
// and the signature check.

#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "common/jwt.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

struct AuthStageOptions {
  // false (LIVECALL_AUTH=off): no route needs a token, though one that is sent is still verified
  // when `jwt` has a key.
  bool auth_enabled = true;
  JwtVerifier jwt;
  // Leeway, required aud and iss (empty: not checked), the longest lifetime (exp − iat), and
  // whether the dev login's tokens are accepted.
  AgentAuthOptions rules;
};

class AuthStage : public Stage {
 public:
  explicit AuthStage(AuthStageOptions options) : options_(std::move(options)) {}

  std::optional<HttpResponse> Process(Exchange& exchange) const override;

 private:
  const AuthStageOptions options_;
  mutable VerifiedTokenCache verified_tokens_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_AUTH_STAGE_H_
