#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_OWNERSHIP_CHECK_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_OWNERSHIP_CHECK_H_

// Whether the caller may use the call or session a route names (Route::owner) is its service's to
// say: the gateway asks with the read the caller could make itself (GetCall / GetSession with the
// caller's identity: 404 when there is none, 403 when it is another agent's). The services check
// ownership on every RPC, so the gateway asks only where it answers without them: before it
// refuses a body (README "Order of checks": 401 → 404/403 → 400 → 409, so another agent learns
// nothing by probing), and before it opens an agent's live-event stream.

#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class OwnershipCheck {
 public:
  // `backend` must outlive the check.
  OwnershipCheck(BackendClient* backend, absl::Duration deadline)
      : backend_(backend), deadline_(deadline) {}

  // The read that shows whether `caller` may use the record `match` names; nullopt for a route
  // that names none.
  std::optional<BackendRequest> Read(const RouteMatch& match, const AuthenticatedAgent& caller,
                                     const std::string& request_id) const;

  // Runs `read` and answers what `on_owned` makes of it when the service allows the caller, the
  // service's refusal otherwise. `on_owned` runs on a gRPC thread.
  void Then(BackendRequest read, std::function<HttpResponse()> on_owned,
            HttpResponder respond) const;

  // Answers `refusal` (about the request itself) only once the caller is shown to own the record
  // the route names; at once for a route that names none.
  void RefuseAfterCheck(const Exchange& exchange, HttpResponse refusal,
                        HttpResponder respond) const;

 private:
  BackendClient* backend_;
  const absl::Duration deadline_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_OWNERSHIP_CHECK_H_
