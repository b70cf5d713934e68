#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_CORS_STAGE_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_CORS_STAGE_H_

// First stage: answers a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method),
// which a browser sends without credentials, before anything else; every other request from an
// Origin has its answer decorated by the policy (cors.h), errors included, so the page can read
// why a request failed.

#include <optional>

#include "services/gateway/cors.h"
#include "services/gateway/route_table.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class CorsStage : public Stage {
 public:
  // `routes` must outlive the stage.
  CorsStage(const RouteTable* routes, CorsPolicy policy)
      : routes_(routes), policy_(std::move(policy)) {}

  std::optional<HttpResponse> Process(Exchange& exchange) const override;

 private:
  const RouteTable* routes_;
  const CorsPolicy policy_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_CORS_STAGE_H_
