#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_STATIC_JSON_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_STATIC_JSON_HANDLER_H_

// The handler of a gateway route whose answer is one fixed JSON document: GET /healthz
// (RouteKind::kHealth, readiness.h's HealthzBody) and GET /openapi.json (RouteKind::kOpenApi).

#include <string>
#include <utility>

#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class StaticJsonHandler : public RouteHandler {
 public:
  explicit StaticJsonHandler(std::string body) : body_(std::move(body)) {}

  void Serve(const Exchange&, HttpResponder respond) const override {
    respond(JsonResponse(200, body_));
  }

 private:
  const std::string body_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_STATIC_JSON_HANDLER_H_
