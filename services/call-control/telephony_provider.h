#ifndef LIVECALL_SERVICES_CALL_CONTROL_TELEPHONY_PROVIDER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TELEPHONY_PROVIDER_H_

// The edge to the telephone network. The sandbox simulates Twilio's call lifecycle for a laptop
// with no account; the Twilio REST provider (configured by TWILIO_*) is the real one. main.cc is
// the only place that chooses.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "livecall/v1/call_control.pb.h"

namespace livecall::call_control {

class TelephonyProvider {
 public:
  virtual ~TelephonyProvider() = default;

  // "sandbox" or "twilio".
  virtual absl::string_view name() const = 0;

  // Places an outbound call. `call` has to/from (E.164), text, voice and language set; the
  // answer has the call SID, status "queued" and the first history entry.
  virtual absl::StatusOr<livecall::v1::Call> Place(livecall::v1::Call call) = 0;

  // Call control on an in-progress call (the caller checked the state and records the outcome in
  // the call store). For a conference call these act on the customer's participant: hold with
  // hold music and back, server-side mute, DTMF played to the customer; Hangup ends the call and
  // its conference. FAILED_PRECONDITION when the call cannot do it (e.g. no conference).
  virtual absl::Status Hold(const livecall::v1::Call& call, bool on_hold) = 0;
  virtual absl::Status Mute(const livecall::v1::Call& call, bool muted) = 0;
  virtual absl::Status Hangup(const livecall::v1::Call& call) = 0;
  virtual absl::Status SendDigits(const livecall::v1::Call& call, absl::string_view digits) = 0;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TELEPHONY_PROVIDER_H_
