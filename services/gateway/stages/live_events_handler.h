#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_LIVE_EVENTS_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_LIVE_EVENTS_HANDLER_H_

// The handler of the live-event routes (RouteKind::kLiveEvents): Server-Sent Events from the
// Redis event streams (sse_handler.h). An agent watches only its own call or session: the
// service that owns the record says so first (ownership_check.h); supervisors and services watch
// any. The stream holds a slot of the caller's stream limits and ends when its token expires.

#include "absl/time/time.h"
#include "common/event_hub.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/sse_handler.h"
#include "services/gateway/stages/ownership_check.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class LiveEventsHandler : public RouteHandler {
 public:
  // Null `events`: the routes answer 503; null `limits`: no caps. All must outlive the handler.
  LiveEventsHandler(BackendClient* backend, absl::Duration deadline, EventHub* events,
                    LiveStreamLimits* limits)
      : ownership_(backend, deadline), events_(events), limits_(limits) {}

  void Serve(const Exchange& exchange, HttpResponder respond) const override;

 private:
  const OwnershipCheck ownership_;
  EventHub* events_;
  LiveStreamLimits* limits_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_LIVE_EVENTS_HANDLER_H_
