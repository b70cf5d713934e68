#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_ACCESS_STAGE_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_ACCESS_STAGE_H_

// Whether the caller may use the route at all: the 401 auth_stage recorded (answered only now,
// after the rate limits), then the route's (livecall.v1.auth).roles (403 insufficient_scope).
// Whether the caller may use the call or session a route names is asked of its service
// (ownership_check.h), by the handlers.

#include <optional>

#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class AccessStage : public Stage {
 public:
  std::optional<HttpResponse> Process(Exchange& exchange) const override;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_ACCESS_STAGE_H_
