#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_TWILIO_WEBHOOK_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_TWILIO_WEBHOOK_HANDLER_H_

// The handler of a Twilio webhook (RouteKind::kTwilioWebhook), once twilio_signature_stage has
// verified it: its fields and query go to call-control as a TwilioWebhookRequest, and the answer
// is the TwiML call-control returns, or 204 for an RPC that answers WebhookAck.

#include "absl/time/time.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class TwilioWebhookHandler : public RouteHandler {
 public:
  // `deadline`: Twilio gives up after 15 s. `backend` must outlive the handler.
  TwilioWebhookHandler(BackendClient* backend, absl::Duration deadline)
      : backend_(backend), deadline_(deadline) {}

  void Serve(const Exchange& exchange, HttpResponder respond) const override;

 private:
  BackendClient* backend_;
  const absl::Duration deadline_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_TWILIO_WEBHOOK_HANDLER_H_
