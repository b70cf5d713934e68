#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_SERVICE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_SERVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/caller_identity.h"
#include "common/queued_unary.h"
#include "livecall/v1/call_control.grpc.pb.h"
#include "services/call-control/calls/call_sessions.h"
#include "services/call-control/calls/call_store.h"
#include "services/call-control/calls/outbound_call_limit.h"
#include "services/call-control/telephony_provider.h"

namespace livecall::call_control {

// Longest text a call may speak; Twilio's <Say> takes up to 4,096 characters.
inline constexpr size_t kMaxSpokenTextLength = 4096;

// What the gateway forwards as gRPC metadata.
inline constexpr char kIdempotencyKeyMetadata[] = "idempotency-key";

enum class CallAction { kHold, kResume, kMute, kUnmute, kHangup, kSendDigits };

// Minting Voice Access Tokens; without an API key and TwiML App the token RPC is refused.
struct VoiceTokenSettings {
  std::string account_sid;
  std::string api_key_sid;
  std::string api_key_secret;
  std::string twiml_app_sid;
};

struct CallControlOptions {
  VoiceTokenSettings voice_token;
  // How long an Idempotency-Key answers the same call.
  absl::Duration idempotency_ttl = absl::Hours(24);
  // How long a retry waits for the first request with its key to finish.
  absl::Duration idempotency_wait = absl::Seconds(10);
  // The global cap on concurrent outbound calls; null: no cap.
  OutboundCallLimit* outbound_limit = nullptr;
};

// OK when `caller` may read or control `call`: a supervisor or a service any call, an agent only
// a call whose agent is its own Twilio client identity (voice_token.h). PERMISSION_DENIED else.
absl::Status CheckCallOwner(const CallerIdentity& caller, const livecall::v1::Call& call);

// livecall.v1.CallControl: places calls through the configured provider, controls them (hold,
// mute, hangup, DTMF) and reads them back; mints agents' Voice Access Tokens.
//
// The RPCs are served from completion queues (common/queued_unary.h, QueuedWork::kMayBlock): each
// blocks on Redis or Twilio in place on one polling thread.
class CallControlService final : public QueuedService<livecall::v1::CallControl> {
 public:
  // Adds the RPCs to `unary`, which the same server serves. `sessions` may be null: no AI
  // sessions (calls in modes "ai" and "agent" are refused).
  CallControlService(TelephonyProvider& provider, CallStore& calls, QueuedUnaryMethods& unary,
                     std::string default_caller_id, CallControlOptions options = {},
                     CallSessions* sessions = nullptr);

  // The work behind the RPCs; blocking (Redis, Twilio). The call is
  // `caller`'s: its agent_identity is the caller's agent (as a Twilio client identity), if any.
  // RESOURCE_EXHAUSTED when the outbound-call cap is reached.
  absl::StatusOr<livecall::v1::Call> Place(const livecall::v1::PlaceCallRequest& request,
                                           const CallerIdentity& caller = {});
  // Place() at most once per `idempotency_key` (empty: no key) and caller: a retry with the same
  // key answers the first request's call, and of concurrent duplicates only one dials.
  absl::StatusOr<livecall::v1::Call> PlaceOnce(const livecall::v1::PlaceCallRequest& request,
                                               const std::string& idempotency_key,
                                               const CallerIdentity& caller = {});
  // `call_sid` may be either leg's. FAILED_PRECONDITION unless the call is in progress;
  // PERMISSION_DENIED when it is not `caller`'s (CheckCallOwner).
  absl::StatusOr<livecall::v1::Call> Act(const std::string& call_sid, CallAction action,
                                         const std::string& digits = "",
                                         const CallerIdentity& caller = {});
  // The call `call_sid` names (either leg) for `caller`: its owner (CheckCallOwner), or an agent
  // the call is ringing (RingAgents recorded the leg for the agent's identity) while no agent has
  // answered it, so the agent's console can read the call it accepts before Twilio reports the
  // join. Once an agent has taken the call, the others get PERMISSION_DENIED.
  absl::StatusOr<livecall::v1::Call> Read(const std::string& call_sid,
                                          const CallerIdentity& caller = {});
  // The live floor for a supervisor or a service; PERMISSION_DENIED for an agent,
  // INVALID_ARGUMENT for a limit outside 0..200 (0: 50).
  absl::StatusOr<livecall::v1::ListCallsResponse> List(
      const livecall::v1::ListCallsRequest& request, const CallerIdentity& caller = {});
  absl::StatusOr<livecall::v1::VoiceToken> MintToken(
      const std::string& agent_id, const livecall::v1::CreateVoiceTokenRequest& request);

 private:
  TelephonyProvider& provider_;
  CallStore& calls_;
  const std::string default_caller_id_;
  const CallControlOptions options_;
  CallSessions* const sessions_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_SERVICE_H_
