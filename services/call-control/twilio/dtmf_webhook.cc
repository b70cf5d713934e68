// /twilio/dtmf: the announcement TwiML that plays DTMF digits to the customer (CallAction
// kSendDigits asks Twilio to announce this URL to the customer's participant).

#include "services/call-control/twilio/twilio_webhook_internal.h"
#include "services/call-control/twilio/twilio_webhook_service.h"
#include "services/call-control/twilio/twiml.h"

namespace livecall::call_control {
using webhook_internal::Param;

absl::StatusOr<std::string> TwilioWebhookService::HandleDtmf(const Params& query) {
  const std::string digits = Param(query, "digits");
  if (digits.empty() || digits.size() > 32 ||
      digits.find_first_not_of("0123456789*#wW") != std::string::npos) {
    return absl::InvalidArgumentError("digits: 1 to 32 of 0-9, *, #, w");
  }
  TwimlElement play = Verb("Play");
  play.Attr("digits", digits);
  return RenderTwiml({play});
}

}  // namespace livecall::call_control
