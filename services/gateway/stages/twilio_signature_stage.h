#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_TWILIO_SIGNATURE_STAGE_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_TWILIO_SIGNATURE_STAGE_H_

// A Twilio webhook (kTwilioSignature route) goes no further, and nothing about it is trusted,
// before X-Twilio-Signature verifies (twilio_signature.h) against the public URL: a form body is
// signed with the URL, a JSON body through the URL's bodySHA256. Refusals are 403 (415 for a body
// of another type, 400 for a query or JSON body that does not decode). A signed webhook whose
// Timestamp is outside the replay window is refused too — unless the route only moves a call
// forward (Route::replay_safe_webhook): Twilio does not retry a 4xx, so refusing it would lose it
// for good; it is logged instead. The verified fields go to the exchange for the handler.

#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

struct TwilioSignatureOptions {
  // With no token every webhook is refused (403).
  std::string auth_token;
  // The gateway's public base URL as Twilio calls it, no trailing '/'.
  std::string public_url;
  // Zero: no Timestamp check.
  absl::Duration replay_window = absl::Minutes(5);
};

class TwilioSignatureStage : public Stage {
 public:
  explicit TwilioSignatureStage(TwilioSignatureOptions options) : options_(std::move(options)) {}

  std::optional<HttpResponse> Process(Exchange& exchange) const override;

 private:
  const TwilioSignatureOptions options_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_TWILIO_SIGNATURE_STAGE_H_
