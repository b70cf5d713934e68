#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_DEV_LOGIN_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_DEV_LOGIN_HANDLER_H_

// The handler of POST /api/auth/dev-login (RouteKind::kDevLogin), which the gateway answers
// itself: an HS256 token for any agent id and role (agent_auth.h's DevLogin), for development
// only. Off (LIVECALL_DEV_LOGIN, or no HS256 secret): 404.

#include <string>

#include "absl/time/time.h"
#include "common/jwt.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

struct DevLoginOptions {
  bool enabled = false;
  // Its secret signs the tokens.
  JwtVerifier jwt;
  absl::Duration ttl = absl::Hours(8);
  // Put in the tokens' aud when not empty (LIVECALL_JWT_AUDIENCE).
  std::string audience;
};

class DevLoginHandler : public RouteHandler {
 public:
  explicit DevLoginHandler(DevLoginOptions options) : options_(std::move(options)) {}

  void Serve(const Exchange& exchange, HttpResponder respond) const override;

 private:
  const DevLoginOptions options_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_DEV_LOGIN_HANDLER_H_
