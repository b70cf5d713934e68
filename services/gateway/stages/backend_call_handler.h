#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_BACKEND_CALL_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_BACKEND_CALL_HANDLER_H_

// The handler of a route whose RPC a backend serves (RouteKind::kBackendCall): the body (or the
// query) and the path variables are transcoded to the request message (transcoder.h), the RPC is
// called with x-request-id, the verified identity and the Idempotency-Key as metadata, and the
// answer is transcoded back to JSON — or, for a (raw_response) route, written as its bytes with
// their type and cache headers (304 for a matching If-None-Match). A body the gateway refuses
// waits for the ownership check (ownership_check.h). A signed audio id (/tts/<id>.wav) is
// verified here, when the gateway has the key, so a forged or expired one never reaches
// call-control's executor: 403 forged, 404 expired.

#include "absl/time/time.h"
#include "common/audio_url_signer.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/stages/ownership_check.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

class BackendCallHandler : public RouteHandler {
 public:
  // `backend` and `tts_signer` (may be null: audio ids are left to the backend) must outlive
  // the handler.
  BackendCallHandler(BackendClient* backend, absl::Duration deadline,
                     const AudioUrlSigner* tts_signer)
      : backend_(backend),
        deadline_(deadline),
        tts_signer_(tts_signer),
        ownership_(backend, deadline) {}

  void Serve(const Exchange& exchange, HttpResponder respond) const override;

 private:
  BackendClient* backend_;
  const absl::Duration deadline_;
  const AudioUrlSigner* tts_signer_;
  const OwnershipCheck ownership_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_BACKEND_CALL_HANDLER_H_
