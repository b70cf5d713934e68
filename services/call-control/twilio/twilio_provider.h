#ifndef LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_PROVIDER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_PROVIDER_H_

// The real telephone network through Twilio's REST API. Calls with an agent are conferences (the
// Flex pattern, DIGEST.md §5): the agent's browser and the customer are participants of the
// conference "call-<first leg's sid>", so hold is a real participant hold with music, mute a
// server-side participant mute, and hangup ends the conference. configureTTS calls are plain
// calls with inline TwiML speech (speech.h). Twilio reports progress to
// LIVECALL_PUBLIC_URL/twilio/status.

#include <string>

#include "absl/status/statusor.h"
#include "services/call-control/calls/call_store.h"
#include "services/call-control/speech.h"
#include "services/call-control/telephony_provider.h"
#include "services/call-control/twilio/twilio_client.h"

namespace livecall::call_control {

// Twilio's limit on a call's inline `Twiml` (Calls.json), in characters.
inline constexpr size_t kMaxInlineTwimlCharacters = 4000;

struct TwilioProviderOptions {
  std::string public_url;      // LIVECALL_PUBLIC_URL, without a trailing '/'.
  std::string hold_music_url;  // TWILIO_HOLD_MUSIC_URL
};

class TwilioProvider final : public TelephonyProvider {
 public:
  // `client`, `store` and `speech` must outlive the provider.
  TwilioProvider(TwilioClient& client, CallStore& store, SpeechRenderer& speech,
                 TwilioProviderOptions options)
      : client_(client), store_(store), speech_(speech), options_(std::move(options)) {}

  // TelephonyProvider
  absl::string_view name() const override { return "twilio"; }
  absl::StatusOr<livecall::v1::Call> Place(livecall::v1::Call call) override;
  absl::Status Hold(const livecall::v1::Call& call, bool on_hold) override;
  absl::Status Mute(const livecall::v1::Call& call, bool muted) override;
  absl::Status Hangup(const livecall::v1::Call& call) override;
  absl::Status SendDigits(const livecall::v1::Call& call, absl::string_view digits) override;

  // Dials `to` into the conference `conference_name` (created by its first participant) as the
  // participant labelled `label`; status callbacks go to /twilio/status. `deadline` bounds the
  // request (a webhook that waits for it must answer Twilio in time).
  absl::StatusOr<TwilioParticipant> DialIntoConference(
      const std::string& conference_name, const std::string& to, const std::string& from,
      const std::string& label, bool end_conference_on_exit,
      absl::Time deadline = absl::InfiniteFuture());
  // Ends a call that has not been answered (a second agent still ringing); Twilio documents that
  // it does nothing to a call that has been answered.
  absl::Status Cancel(const std::string& call_sid);
  // Hangs up a call whatever its state (an agent's browser leg left alone).
  absl::Status Complete(const std::string& call_sid);
  // Removes a participant from the conference; the conference goes on unless the participant
  // has endConferenceOnExit.
  absl::Status RemoveParticipant(const std::string& conference_sid, const std::string& call_sid);
  // Whether the conference ends when this participant leaves (set for the agent who answers).
  absl::Status SetEndConferenceOnExit(const std::string& conference_sid,
                                      const std::string& call_sid, bool end_conference_on_exit);
  // Ends the conference for everyone in it (NOT_FOUND: it has ended already).
  absl::Status EndConference(const std::string& conference_sid);

  const std::string& public_url() const { return options_.public_url; }

 private:
  // The call's CF sid: from the call, else looked up by its conference name.
  absl::StatusOr<std::string> ConferenceSid(const livecall::v1::Call& call);

  TwilioClient& client_;
  CallStore& store_;
  SpeechRenderer& speech_;
  const TwilioProviderOptions options_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_PROVIDER_H_
