#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_ROUTE_MATCH_STAGE_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_ROUTE_MATCH_STAGE_H_

// Finds the route (route_table.h) and its path variables, or answers: 405 with Allow for a path
// that takes other methods, 400 for a path variable that does not decode, and for a path no route
// claims a file of the console (console_files.h, public) to GET and HEAD, else 404.

#include <optional>

#include "services/gateway/console_files.h"
#include "services/gateway/route_table.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class RouteMatchStage : public Stage {
 public:
  // Both must outlive the stage; `console` may be null (no console: those paths are 404).
  RouteMatchStage(const RouteTable* routes, const ConsoleFiles* console)
      : routes_(routes), console_(console) {}

  std::optional<HttpResponse> Process(Exchange& exchange) const override;

 private:
  const RouteTable* routes_;
  const ConsoleFiles* console_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_ROUTE_MATCH_STAGE_H_
