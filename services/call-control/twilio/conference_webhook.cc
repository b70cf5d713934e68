// /twilio/conference: the conference SID, who joined (the first agent takes the call and its AI
// session), hold and mute in Twilio's order; the customer leaving or the conference ending ends
// the call.

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status.h"
#include "services/call-control/calls/call_state_machine.h"
#include "services/call-control/twilio/twilio_webhook_internal.h"
#include "services/call-control/twilio/twilio_webhook_service.h"
#include "services/call-control/twilio/voice_token.h"

namespace livecall::call_control {
using webhook_internal::EventTime;
using webhook_internal::kAgentLabelPrefix;
using webhook_internal::kConferencePrefix;
using webhook_internal::Param;

absl::Status TwilioWebhookService::HandleConferenceStatus(const Params& params) {
  const std::string name = Param(params, "FriendlyName");
  if (!absl::StartsWith(name, kConferencePrefix)) return absl::OkStatus();  // Not one of ours.
  const std::string event = Param(params, "StatusCallbackEvent");
  const std::string conference_sid = Param(params, "ConferenceSid");
  const std::string participant = Param(params, "CallSid");
  int64_t sequence = 0;
  if (!absl::SimpleAtoi(Param(params, "SequenceNumber"), &sequence)) sequence = 0;

  absl::StatusOr<std::string> own = calls_.Resolve(name.substr(kConferencePrefix.size()));
  if (!own.ok()) return absl::IsNotFound(own.status()) ? absl::OkStatus() : own.status();
  const bool is_customer = participant == *own;
  const bool is_agent_join = event == "participant-join" && !participant.empty() && !is_customer;

  std::optional<bool> hold;
  std::optional<bool> mute;
  if (is_customer && (event == "participant-hold" || event == "participant-unhold")) {
    LIVECALL_ASSIGN_OR_RETURN(bool newer, calls_.AdvanceSequence(*own, "hold", sequence));
    if (newer) hold = event == "participant-hold";
  }
  if (is_customer && (event == "participant-mute" || event == "participant-unmute")) {
    LIVECALL_ASSIGN_OR_RETURN(bool newer, calls_.AdvanceSequence(*own, "mute", sequence));
    if (newer) mute = event == "participant-mute";
  }
  const std::string label = Param(params, "ParticipantLabel");
  // The customer leaving, or the conference ending (whoever ended it: the agent, the API, the
  // last participant), is the end of the call: an inbound customer's leg has no status callback
  // unless the number has one configured.
  const bool call_over = (is_customer && event == "participant-leave") || event == "conference-end";
  bool agent_won = false;
  bool ended = false;
  bool customer_unanswered = false;
  std::string other_agent;
  absl::StatusOr<livecall::v1::Call> call =
      calls_.Update(*own, [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        bool changed = false;
        agent_won = false;
        ended = false;
        customer_unanswered = false;
        other_agent.clear();
        if (!conference_sid.empty() && stored.conference_sid().empty()) {
          stored.set_conference_sid(conference_sid);
          changed = true;
        }
        if (event == "participant-join" && is_customer &&
            IsForwardReport(stored.status(), livecall::v1::CALL_STATUS_IN_PROGRESS)) {
          RecordCallStatus(stored, livecall::v1::CALL_STATUS_IN_PROGRESS, EventTime(params));
          changed = true;
        }
        if (call_over) {
          // A customer who never answered (the agent left first) did not talk: canceled.
          customer_unanswered =
              IsForwardReport(stored.status(), livecall::v1::CALL_STATUS_IN_PROGRESS);
          const livecall::v1::CallStatus final_status = customer_unanswered
                                                            ? livecall::v1::CALL_STATUS_CANCELED
                                                            : livecall::v1::CALL_STATUS_COMPLETED;
          if (IsForwardReport(stored.status(), final_status)) {
            RecordCallStatus(stored, final_status, EventTime(params));
            stored.set_on_hold(false);
            ended = true;
            changed = true;
          }
        }
        if (is_agent_join) {
          if (stored.agent_call_sid().empty()) {
            stored.set_agent_call_sid(participant);
            if (absl::StartsWith(label, kAgentLabelPrefix)) {
              stored.set_agent_identity(label.substr(kAgentLabelPrefix.size()));
            }
            agent_won = true;
            changed = true;
          } else if (stored.agent_call_sid() != participant) {
            other_agent = participant;
          }
        }
        if (hold.has_value() && stored.on_hold() != *hold) {
          stored.set_on_hold(*hold);
          changed = true;
        }
        if (mute.has_value() && stored.muted() != *mute) {
          stored.set_muted(*mute);
          changed = true;
        }
        if (changed) *stored.mutable_updated_at() = ToProtoTimestamp(absl::Now());
        return changed;
      });
  if (absl::IsNotFound(call.status())) return absl::OkStatus();
  if (!call.ok()) return call.status();
  if (ended) {
    LogInfo("call ended in its conference", {{"callSid", call->call_sid()},
                                             {"event", event},
                                             {"reason", Param(params, "ReasonConferenceEnded")},
                                             {"status", EnumJsonName(call->status())}});
    sessions_.EndIfFinished(*call);
    // An outbound customer still being dialled is a REST participant Twilio keeps ringing.
    StopOtherLegs(*call, customer_unanswered && call->direction() != "inbound");
  }
  if (twilio_ != nullptr && agent_won) {
    LIVECALL_RETURN_IF_ERROR(calls_.PutAlias(participant, *own));
    // The first agent to answer takes the call: the conference ends when that agent leaves (it
    // was rung without), and the others stop ringing. After answering Twilio (REST takes time).
    executor_.Submit([this, own = *own, participant, conference_sid] {
      if (!conference_sid.empty()) {
        absl::Status kept = twilio_->SetEndConferenceOnExit(conference_sid, participant, true);
        if (!kept.ok()) {
          LogWarning("cannot make the answering agent end the conference on exit",
                     {{"callSid", participant}, {"error", kept.ToString()}});
        }
      }
      absl::StatusOr<std::vector<std::string>> legs = calls_.AgentLegs(own);
      if (!legs.ok()) {
        LogWarning("cannot list the agents rung",
                   {{"callSid", own}, {"error", legs.status().ToString()}});
        return;
      }
      for (const std::string& leg : *legs) {
        if (leg == participant) continue;
        // Does nothing to an agent who has answered too: that one is removed when it joins.
        absl::Status canceled = twilio_->Cancel(leg);
        if (!canceled.ok()) {
          LogWarning("cannot stop ringing an agent",
                     {{"callSid", leg}, {"error", canceled.ToString()}});
        }
      }
    });
  }
  // The agent who took the call takes its AI session too (an inbound call's, or a handed-off AI
  // call's, starts with no owner), so it may read it and its live events. Asked again on a
  // retried join of the same leg (assigning is idempotent), so a failure here is retried by
  // Twilio's next delivery.
  if (is_agent_join && call->agent_call_sid() == participant && !call->agent_identity().empty()) {
    absl::StatusOr<std::string> agent_id = AgentIdFromIdentity(call->agent_identity());
    absl::Status assigned = agent_id.ok() ? sessions_.Assign(*call, *agent_id) : agent_id.status();
    if (absl::IsFailedPrecondition(assigned) || absl::IsInvalidArgument(assigned)) {
      // Another agent's session (an AI call its agent placed), or an identity that names no
      // agent: the call goes on, the session stays as it is.
      LogWarning("the answering agent does not get the call's AI session",
                 {{"callSid", call->call_sid()}, {"error", assigned.ToString()}});
    } else if (!assigned.ok()) {
      return assigned;
    }
  }
  if (twilio_ != nullptr && !other_agent.empty() && !conference_sid.empty()) {
    // An agent who answered after another took the call leaves the conference; it was rung
    // without endConferenceOnExit, so the call goes on. After answering Twilio.
    executor_.Submit([this, conference_sid, other_agent] {
      absl::Status removed = twilio_->RemoveParticipant(conference_sid, other_agent);
      if (!removed.ok() && !absl::IsNotFound(removed)) {
        LogWarning("cannot remove an agent who answered after another",
                   {{"callSid", other_agent}, {"error", removed.ToString()}});
      }
    });
  }
  return absl::OkStatus();
}

}  // namespace livecall::call_control
