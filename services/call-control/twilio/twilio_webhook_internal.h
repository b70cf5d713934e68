#ifndef LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_INTERNAL_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_INTERNAL_H_

// What the webhook families' files (*_webhook.cc) share, and nothing else needs.

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/call-control/twilio/twilio_webhook_service.h"

namespace livecall::call_control::webhook_internal {

// A call's conference is "call-<the sid of the leg that started it>".
inline constexpr absl::string_view kConferencePrefix = "call-";
// A rung agent's participant label is "agent-<identity>".
inline constexpr absl::string_view kAgentLabelPrefix = "agent-";

// The value of `name` in Twilio's form parameters (or the query), "" when absent.
std::string Param(const Params& params, const char* name);

// Twilio's Timestamp (RFC 2822, "Tue, 31 Aug 2010 20:36:28 +0000"), or now.
absl::Time EventTime(const Params& params);

}  // namespace livecall::call_control::webhook_internal

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_INTERNAL_H_
