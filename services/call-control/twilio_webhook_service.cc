#include "services/call-control/twilio_webhook_service.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/language.h"
#include "common/log.h"
#include "common/phone_number.h"
#include "common/proto_time.h"
#include "common/status.h"
#include "common/unary_reactor.h"
#include "common/utf8.h"
#include "services/call-control/call_state_machine.h"
#include "services/call-control/twiml.h"
#include "services/call-control/voice_token.h"

namespace livecall::call_control {
namespace {

constexpr absl::string_view kConferencePrefix = "call-";
constexpr absl::string_view kAgentLabelPrefix = "agent-";
// A retried /twilio/voice within this time answers the first TwiML again.
constexpr absl::Duration kVoiceDedupTtl = absl::Hours(1);
// How many times the opening of an AI call waits a second for its session.
constexpr int kGreetAttempts = 5;
// A retried /twilio/gather within this time answers the first TwiML again.
constexpr absl::Duration kGatherDedupTtl = absl::Minutes(10);
// How long a retry waits for the first request of its turn to be answered.
constexpr absl::Duration kGatherDedupWait = absl::Seconds(5);
// Twilio waits 15 s for a webhook's answer (the gateway gives call-control
// LIVECALL_WEBHOOK_DEADLINE_MS, 12 s by default): a REST request made before answering and the
// wait for the AI session's language together stay well inside that.
constexpr absl::Duration kWebhookRestBudget = absl::Seconds(5);
constexpr absl::Duration kSessionStartWait = absl::Seconds(3);
// Twilio's error text in a speech.error event is cut to this many bytes.
constexpr size_t kMaxSpeechErrorLength = 500;

// The first 64 bits of SHA-256 of `text`, in hex: names what the caller said in a key.
std::string TextDigest(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

std::string Param(const Params& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

// Twilio's Timestamp (RFC 2822, "Tue, 31 Aug 2010 20:36:28 +0000"), or now.
absl::Time EventTime(const Params& params) {
  absl::Time at;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S %z", Param(params, "Timestamp"), &at, &error)) {
    return at;
  }
  return absl::Now();
}

std::string SayAndHangUp(absl::string_view text) {
  return RenderTwiml({Verb("Say", text), Verb("Hangup")});
}

}  // namespace

absl::Status TwilioWebhookService::PublishSpeechError(const livecall::v1::Call& call,
                                                      const livecall::v1::SpeechError& error) {
  LogWarning("speech recognition failed", {{"callSid", call.call_sid()},
                                           {"source", error.source()},
                                           {"leg", error.leg()},
                                           {"code", error.code()},
                                           {"error", error.message()}});
  if (options_.speech_errors == nullptr) return absl::OkStatus();
  return options_.speech_errors->Publish(call.call_sid(), error);
}

TwimlElement TwilioWebhookService::CustomerConferenceDial(const std::string& conference) const {
  TwimlElement dial = Verb("Dial");
  dial.Add(Verb("Conference", conference))
      .Attr("participantLabel", "customer")
      .Attr("startConferenceOnEnter", "false")
      .Attr("endConferenceOnExit", "true")
      .Attr("beep", "false")
      .Attr("statusCallback", absl::StrCat(options_.public_url, "/twilio/conference"))
      .Attr("statusCallbackEvent", "start end join leave hold mute");
  return dial;
}

TwimlElement TwilioWebhookService::StartTranscription(const std::string& session_language,
                                                      absl::string_view inbound_label,
                                                      absl::string_view outbound_label) const {
  return StartTranscriptionTwiml(options_.recognition.For(session_language),
                                 absl::StrCat(options_.public_url, "/twilio/transcription"),
                                 inbound_label, outbound_label);
}

std::string TwilioWebhookService::StartSession(const livecall::v1::Call& call,
                                               const std::string& agent_id) {
  // Started on the executor, so a slow ai-session never makes Twilio's webhook wait past
  // kSessionStartWait; the session is recorded with the call whenever it starts.
  struct Started {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    std::string language ABSL_GUARDED_BY(mu);
  };
  auto started = std::make_shared<Started>();
  executor_.Submit([this, call, agent_id, started] {
    absl::StatusOr<livecall::v1::Call> recorded = sessions_.Start(call, agent_id, "");
    // The call may have ended while its session was starting: then the session ends too.
    if (recorded.ok()) sessions_.EndIfFinished(*recorded);
    absl::MutexLock lock(&started->mu);
    started->done = true;
    if (recorded.ok()) started->language = recorded->language();
  });
  absl::MutexLock lock(&started->mu);
  if (started->mu.AwaitWithTimeout(absl::Condition(&started->done), kSessionStartWait)) {
    return started->language;
  }
  LogWarning("ai-session is slow: answering Twilio before the call's AI session has started",
             {{"callSid", call.call_sid()}});
  return "";
}

void TwilioWebhookService::StopOtherLegs(const livecall::v1::Call& call, bool cancel_customer) {
  if (twilio_ == nullptr) return;
  executor_.Submit([this, call, cancel_customer] {
    auto warn = [&](const char* what, const std::string& sid, const absl::Status& status) {
      if (status.ok() || absl::IsNotFound(status)) return;
      LogWarning(what, {{"callSid", call.call_sid()}, {"leg", sid}, {"error", status.ToString()}});
    };
    // Agents still ringing for the call stop (the one who answered leaves with the conference).
    absl::StatusOr<std::vector<std::string>> legs = calls_.AgentLegs(call.call_sid());
    warn("cannot list the agents rung for an ended call", call.call_sid(), legs.status());
    for (const std::string& leg : legs.ok() ? *legs : std::vector<std::string>()) {
      if (leg != call.agent_call_sid()) {
        warn("cannot stop ringing an agent", leg, twilio_->Cancel(leg));
      }
    }
    if (cancel_customer) {
      warn("cannot stop dialling the customer", call.call_sid(), twilio_->Cancel(call.call_sid()));
    }
    // A customer who answered ends the conference by leaving (endConferenceOnExit); one who never
    // answered would leave the agent alone in it.
    if (call.status() == livecall::v1::CALL_STATUS_COMPLETED) return;
    if (!call.conference_sid().empty()) {
      warn("cannot end the conference of an ended call", call.conference_sid(),
           twilio_->EndConference(call.conference_sid()));
    } else if (!call.agent_call_sid().empty()) {
      warn("cannot hang up the agent of an ended call", call.agent_call_sid(),
           twilio_->Complete(call.agent_call_sid()));
    }
  });
}

absl::StatusOr<bool> TwilioWebhookService::RingAgents(const std::string& call_sid,
                                                      const std::string& conference,
                                                      const std::string& caller) {
  LIVECALL_ASSIGN_OR_RETURN(std::vector<std::string> agents,
                            calls_.AvailableAgents(absl::Now(), options_.max_agents_rung));
  if (agents.empty()) return false;
  executor_.Submit([this, call_sid, conference, caller, agents] {
    for (const std::string& identity : agents) {
      // Rung agents do not end the conference when they leave: removing one who answered late
      // must not end the call. The agent who takes the call gets endConferenceOnExit then.
      absl::StatusOr<TwilioParticipant> leg = twilio_->DialIntoConference(
          conference, absl::StrCat("client:", identity),
          absl::StartsWith(caller, "+") ? caller : options_.caller_id,
          absl::StrCat(kAgentLabelPrefix, identity), /*end_conference_on_exit=*/false);
      absl::Status recorded =
          leg.ok() ? calls_.AddAgentLeg(call_sid, leg->call_sid, identity) : leg.status();
      if (!recorded.ok()) {
        LogError("cannot ring an agent",
                 {{"callSid", call_sid}, {"agent", identity}, {"error", recorded.ToString()}});
        continue;
      }
      // The caller may have hung up while this agent was being dialled: the call's end stopped
      // only the legs recorded by then, so this one stops itself.
      absl::StatusOr<livecall::v1::Call> call = calls_.Get(call_sid);
      if (call.ok() && IsTerminalCallStatus(call->status())) {
        absl::Status canceled = twilio_->Cancel(leg->call_sid);
        if (!canceled.ok()) {
          LogWarning("cannot stop ringing an agent for an ended call",
                     {{"callSid", leg->call_sid}, {"error", canceled.ToString()}});
        }
      }
    }
  });
  LogInfo("ringing agents", {{"callSid", call_sid}, {"agentsRung", absl::StrCat(agents.size())}});
  return true;
}

absl::StatusOr<std::string> TwilioWebhookService::HandleVoice(const Params& params) {
  const std::string call_sid = Param(params, "CallSid");
  if (!IsCallSidShaped(call_sid)) return absl::InvalidArgumentError("CallSid is missing or malformed");
  if (twilio_ == nullptr) {
    return absl::FailedPreconditionError(
        "Twilio is not configured (TWILIO_ACCOUNT_SID); this call-control runs the sandbox");
  }
  // Twilio delivers at least once: a retry gets the first answer and dials no one again.
  const std::string dedup_key = absl::StrCat("voice:", call_sid);
  LIVECALL_ASSIGN_OR_RETURN(bool first, calls_.ReserveIdempotencyKey(dedup_key, kVoiceDedupTtl));
  if (!first) {
    LIVECALL_ASSIGN_OR_RETURN(std::optional<std::string> answered,
                              calls_.LookupIdempotencyKey(dedup_key));
    if (answered.has_value() && !answered->empty()) return *answered;
    return absl::UnavailableError("this call's first webhook is still being answered");
  }
  // A CallSid answered before, past the dedup window, is no retry of Twilio's (those come within
  // seconds) but a replay of a signed request: it dials nobody and joins nothing.
  absl::StatusOr<bool> new_call = calls_.MarkVoiceCallNew(call_sid);
  if (!new_call.ok()) {
    LIVECALL_RETURN_IF_ERROR(calls_.ReleaseIdempotencyKey(dedup_key));
    return new_call.status();
  }
  const std::string from = Param(params, "From");
  absl::StatusOr<std::string> twiml;
  if (!*new_call) {
    LogWarning("replayed /twilio/voice for a known call: hung up", {{"callSid", call_sid}});
    twiml = RenderTwiml({Verb("Hangup")});
  } else if (absl::StartsWith(from, "client:")) {
    twiml = AgentCall(call_sid, from.substr(7), Param(params, "To"), Param(params, "Language"));
  } else {
    twiml = CustomerCall(call_sid, params);
  }
  if (!twiml.ok()) {
    LIVECALL_RETURN_IF_ERROR(calls_.ForgetVoiceCall(call_sid));
    LIVECALL_RETURN_IF_ERROR(calls_.ReleaseIdempotencyKey(dedup_key));
    return twiml.status();
  }
  LIVECALL_RETURN_IF_ERROR(calls_.CompleteIdempotencyKey(dedup_key, *twiml, kVoiceDedupTtl));
  return twiml;
}

absl::StatusOr<std::string> TwilioWebhookService::AgentCall(const std::string& call_sid,
                                                            const std::string& identity,
                                                            const std::string& raw_to,
                                                            const std::string& raw_language) {
  absl::StatusOr<std::string> to = NormalizePhoneNumber(raw_to);
  if (!to.ok()) {
    LogWarning("agent dialled an invalid number", {{"callSid", call_sid}, {"to", raw_to}});
    return SayAndHangUp("The number you dialled is not a valid phone number.");
  }
  // The customer's leg is an outbound call like any PlaceCall: it must be to an allowed number,
  // and it takes a slot of the global cap and of the agent's quota before anyone is dialled,
  // given back when it ends (OutboundCallLimit's sweep).
  OutboundSlot slot;
  if (options_.outbound_limit != nullptr) {
    absl::StatusOr<OutboundSlot> admitted =
        options_.outbound_limit->Admit(*to, identity, absl::Now());
    if (const OutboundRefusal refusal = RefusalOf(admitted.status());
        refusal != OutboundRefusal::kNone) {
      LogWarning("agent call refused",
                 {{"callSid", call_sid}, {"error", admitted.status().ToString()}});
      const std::string language = ParseLanguage(raw_language).value_or("en");
      LIVECALL_ASSIGN_OR_RETURN(
          TwimlElement refused,
          speech_.Render({.text = OutboundRefusalLine(refusal, language), .language = language}));
      return RenderTwiml({std::move(refused), Verb("Hangup")});
    }
    if (!admitted.ok()) return admitted.status();
    slot = *std::move(admitted);
  }
  const std::string conference = absl::StrCat(kConferencePrefix, call_sid);
  absl::StatusOr<TwilioParticipant> customer = twilio_->DialIntoConference(
      conference, *to, options_.caller_id, "customer", /*end_conference_on_exit=*/true,
      absl::Now() + kWebhookRestBudget);
  if (!customer.ok()) {
    LogError("cannot dial the customer into the conference",
             {{"callSid", call_sid}, {"error", customer.status().ToString()}});
    // Nobody was dialled (or the slot lapses by itself if this fails too).
    if (options_.outbound_limit != nullptr) (void)options_.outbound_limit->Cancel(slot);
    return SayAndHangUp("The call could not be placed. Please try again.");
  }

  const absl::Time now = absl::Now();
  livecall::v1::Call call;
  call.set_call_sid(customer->call_sid);
  call.set_agent_call_sid(call_sid);
  call.set_agent_identity(identity);
  call.set_conference_name(conference);
  call.set_conference_sid(customer->conference_sid);
  call.set_to(*to);
  call.set_from(options_.caller_id);
  call.set_direction("outbound-api");
  call.set_provider("twilio");
  *call.mutable_created_at() = ToProtoTimestamp(now);
  RecordCallStatus(call, livecall::v1::CALL_STATUS_QUEUED, now);
  // The call, the browser leg's alias and the slot become the call's in one transaction, so the
  // slot's sweep never finds the slot without its call.
  LIVECALL_RETURN_IF_ERROR(calls_.Create(
      call, {call_sid},
      options_.outbound_limit != nullptr
          ? options_.outbound_limit->CommitWrites(slot, call.call_sid(), now)
          : RedisCommands{}));

  absl::StatusOr<std::string> agent_id = AgentIdFromIdentity(identity);
  std::string language = StartSession(call, agent_id.ok() ? *agent_id : identity);
  if (language.empty()) language = DefaultLanguageForNumber(call.to());

  // This TwiML runs on the browser's leg: its inbound track is the agent speaking.
  TwimlElement start = StartTranscription(language, "agent", "customer");
  TwimlElement dial = Verb("Dial");
  dial.Attr("callerId", options_.caller_id);
  dial.Add(Verb("Conference", conference))
      .Attr("participantLabel", "agent")
      .Attr("startConferenceOnEnter", "true")
      .Attr("endConferenceOnExit", "true")
      .Attr("beep", "false")
      .Attr("statusCallback", absl::StrCat(options_.public_url, "/twilio/conference"))
      .Attr("statusCallbackEvent", "start end join leave hold mute")
      .Attr("waitUrl", "");
  LogInfo("agent call", {{"callSid", call.call_sid()}, {"agentCallSid", call_sid}});
  return RenderTwiml({start, dial});
}

absl::StatusOr<std::string> TwilioWebhookService::CustomerCall(const std::string& call_sid,
                                                               const Params& params) {
  const std::string raw_from = Param(params, "From");
  absl::StatusOr<std::string> from = NormalizePhoneNumber(raw_from);
  const std::string conference = absl::StrCat(kConferencePrefix, call_sid);
  const absl::Time now = absl::Now();
  livecall::v1::Call call;
  call.set_call_sid(call_sid);
  call.set_from(from.ok() ? *from : raw_from);
  call.set_to(Param(params, "To"));
  call.set_conference_name(conference);
  call.set_direction("inbound");
  call.set_provider("twilio");
  *call.mutable_created_at() = ToProtoTimestamp(now);
  RecordCallStatus(
      call,
      ParseCallStatus(Param(params, "CallStatus")).value_or(livecall::v1::CALL_STATUS_RINGING),
      now);
  LIVECALL_RETURN_IF_ERROR(calls_.Put(call, std::nullopt));

  std::string language;
  if (from.ok()) {
    language = StartSession(call, "");
    if (language.empty()) language = DefaultLanguageForNumber(call.from());
  } else {
    LogWarning("caller has no usable number; no AI session",
               {{"callSid", call_sid}, {"from", raw_from}});
  }
  LIVECALL_ASSIGN_OR_RETURN(bool ringing, RingAgents(call_sid, conference, call.from()));
  if (!ringing) {
    LogWarning("inbound call but no agent is available", {{"callSid", call_sid}});
    // The customer hears it in their own language (Uzbek as our own audio, speech.h).
    const std::string said = language.empty() ? DefaultLanguageForNumber(call.from()) : language;
    LIVECALL_ASSIGN_OR_RETURN(TwimlElement busy,
                              speech_.Render({.text = VoiceAgentBusyLine(said), .language = said}));
    return RenderTwiml({std::move(busy), Verb("Hangup")});
  }

  // This TwiML runs on the customer's leg: its inbound track is the customer speaking.
  TwimlElement start = StartTranscription(language, "customer", "agent");
  LogInfo("inbound call", {{"callSid", call_sid}});
  return RenderTwiml({start, CustomerConferenceDial(conference)});
}

absl::Status TwilioWebhookService::HandleCallStatus(const Params& params) {
  const std::string sid = Param(params, "CallSid");
  const std::string status = Param(params, "CallStatus");
  if (!IsCallSidShaped(sid)) return absl::InvalidArgumentError("CallSid is missing or malformed");
  // Twilio's "initiated" is known but moves nothing: the call is queued from the start.
  const std::optional<livecall::v1::CallStatus> reported = ParseCallStatus(status);
  if (status != "initiated" && !reported.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown CallStatus \"", status, "\""));
  }
  absl::StatusOr<std::string> own = calls_.Resolve(sid);
  if (!own.ok()) return own.status();
  // Only the customer's leg is the call's state; an agent leg ends with the conference.
  if (*own != sid) return absl::OkStatus();
  const absl::Time at = EventTime(params);
  bool ended = false;
  absl::StatusOr<livecall::v1::Call> call =
      calls_.Update(sid, [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        ended = false;
        if (!reported.has_value() || !IsForwardReport(stored.status(), *reported)) return false;
        RecordCallStatus(stored, *reported, at);
        if (IsTerminalCallStatus(*reported)) stored.set_on_hold(false);
        ended = IsTerminalCallStatus(*reported);
        return true;
      });
  if (absl::IsNotFound(call.status())) {
    LogInfo("status callback for a call we do not track", {{"callSid", sid}, {"status", status}});
    return absl::OkStatus();
  }
  if (!call.ok()) return call.status();
  sessions_.EndIfFinished(*call);
  // The customer's leg has ended (busy, no-answer, failed, canceled, or hung up): nobody stays
  // behind on the call's other legs.
  if (ended) StopOtherLegs(*call, /*cancel_customer=*/false);
  return absl::OkStatus();
}

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

absl::Status TwilioWebhookService::TranscriptionFailed(const Params& params) {
  const std::string sid = Param(params, "CallSid");
  absl::StatusOr<livecall::v1::Call> call = calls_.GetByAnyLeg(sid);
  if (absl::IsNotFound(call.status())) {
    LogWarning("real-time transcription failed on a call we do not track",
               {{"callSid", sid}, {"code", Param(params, "TranscriptionErrorCode")}});
    return absl::OkStatus();
  }
  if (!call.ok()) return call.status();
  // A retried delivery tells the agent nothing new.
  const std::string dedup_key = absl::StrCat("transcript:", Param(params, "TranscriptionSid"), ":",
                                             Param(params, "SequenceId"));
  LIVECALL_ASSIGN_OR_RETURN(bool first, calls_.ReserveIdempotencyKey(dedup_key, kVoiceDedupTtl));
  if (!first) return absl::OkStatus();
  livecall::v1::SpeechError error;
  error.set_source("transcription");
  error.set_leg_call_sid(sid);
  error.set_leg(sid == call->call_sid() ? "customer" : "agent");
  error.set_track(Param(params, "Track"));
  error.set_code(Param(params, "TranscriptionErrorCode"));
  const std::string text = Param(params, "TranscriptionError");
  error.set_message(text.empty() ? "real-time transcription failed"
                                 : TruncateUtf8(text, kMaxSpeechErrorLength));
  absl::Status published = PublishSpeechError(*call, error);
  if (!published.ok()) {
    // Twilio delivers it again.
    LIVECALL_RETURN_IF_ERROR(calls_.ReleaseIdempotencyKey(dedup_key));
    return published;
  }
  return absl::OkStatus();
}

absl::Status TwilioWebhookService::HandleTranscription(const Params& params) {
  const std::string event = Param(params, "TranscriptionEvent");
  const std::string sid = Param(params, "CallSid");
  if (event == "transcription-error") return TranscriptionFailed(params);
  // Partial results are not turns (yet): only a final utterance is.
  if (event != "transcription-content" || Param(params, "Final") != "true") return absl::OkStatus();
  google::protobuf::Struct data;
  const std::string raw = Param(params, "TranscriptionData");
  if (!google::protobuf::util::JsonStringToMessage(raw, &data).ok()) {
    return absl::InvalidArgumentError("TranscriptionData is not a JSON object");
  }
  auto transcript = data.fields().find("transcript");
  if (transcript == data.fields().end() ||
      transcript->second.kind_case() != google::protobuf::Value::kStringValue ||
      absl::StripAsciiWhitespace(transcript->second.string_value()).empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<livecall::v1::Call> call = calls_.GetByAnyLeg(sid);
  if (absl::IsNotFound(call.status())) {
    LogInfo("transcription for a call we do not track", {{"callSid", sid}});
    return absl::OkStatus();
  }
  if (!call.ok()) return call.status();
  if (call->session_id().empty()) {
    LogWarning("transcription for a call without an AI session", {{"callSid", sid}});
    return absl::OkStatus();
  }
  // The inbound track is the party on the leg that runs the <Start><Transcription>.
  const bool leg_is_customer = sid == call->call_sid();
  const bool inbound = Param(params, "Track") == "inbound_track";
  const std::string speaker = leg_is_customer == inbound ? "customer" : "agent";

  const std::string dedup_key = absl::StrCat("transcript:", Param(params, "TranscriptionSid"), ":",
                                             Param(params, "SequenceId"));
  LIVECALL_ASSIGN_OR_RETURN(bool first, calls_.ReserveIdempotencyKey(dedup_key, kVoiceDedupTtl));
  if (!first) return absl::OkStatus();  // A retried delivery of a turn already added.
  livecall::v1::AddTurnRequest turn;
  turn.set_session_id(call->session_id());
  turn.set_speaker(speaker);
  turn.set_text(TruncateUtf8(transcript->second.string_value(), kMaxTurnTextLength));
  absl::StatusOr<livecall::v1::AddTurnResponse> added = sessions_.ai().AddTurn(turn);
  if (!added.ok()) {
    LIVECALL_RETURN_IF_ERROR(calls_.ReleaseIdempotencyKey(dedup_key));
    return absl::Status(added.status().code(),
                        absl::StrCat("ai-session AddTurn: ", added.status().message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TwilioWebhookService::VoiceAgentTwiml(const livecall::v1::Call& call,
                                                                  const VoiceAgentTurn& turn,
                                                                  int unclear_attempts,
                                                                  int next_turn) {
  LIVECALL_ASSIGN_OR_RETURN(
      TwimlElement speech,
      speech_.Render({.text = turn.text, .language = turn.language, .voice = call.voice()}));
  if (turn.action == "goodbye") return RenderTwiml({speech, Verb("Hangup")});
  if (turn.action == "handoff") {
    const std::string conference = absl::StrCat(kConferencePrefix, call.call_sid());
    LIVECALL_RETURN_IF_ERROR(
        calls_.Update(call.call_sid(), [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
          if (stored.handed_off() && stored.conference_name() == conference) return false;
          stored.set_handed_off(true);
          stored.set_conference_name(conference);
          *stored.mutable_updated_at() = ToProtoTimestamp(absl::Now());
          return true;
        }).status());
    LIVECALL_ASSIGN_OR_RETURN(bool ringing, RingAgents(call.call_sid(), conference, call.from()));
    if (!ringing) {
      LogWarning("voice agent hand-off but no agent is available", {{"callSid", call.call_sid()}});
      LIVECALL_ASSIGN_OR_RETURN(
          TwimlElement busy,
          speech_.Render({.text = VoiceAgentBusyLine(turn.language),
                          .language = turn.language,
                          .voice = call.voice()}));
      return RenderTwiml({speech, busy, Verb("Hangup")});
    }
    // From here on the call is a conference with a human agent, transcribed like any other.
    TwimlElement start = StartTranscription(turn.language, "customer", "agent");
    return RenderTwiml({speech, start, CustomerConferenceDial(conference)});
  }
  // Listen while speaking, so the caller can interrupt; an empty result comes back here too
  // (actionOnEmptyResult), counted as unclear.
  TwimlElement gather = SpeechGatherTwiml(
      options_.recognition.For(turn.language),
      absl::StrCat(options_.public_url, "/twilio/gather?unclear=",
                   turn.unclear ? unclear_attempts + 1 : 0, "&turn=", next_turn));
  gather.Add(std::move(speech));
  return RenderTwiml({gather});
}

absl::StatusOr<std::string> TwilioWebhookService::HandleGather(const Params& params,
                                                               const Params& query) {
  const std::string sid = Param(params, "CallSid");
  if (!IsCallSidShaped(sid)) return absl::InvalidArgumentError("CallSid is missing or malformed");
  absl::StatusOr<livecall::v1::Call> call = calls_.GetByAnyLeg(sid);
  if (absl::IsNotFound(call.status())) {
    LogWarning("gather for a call we do not track", {{"callSid", sid}});
    return RenderTwiml({Verb("Hangup")});
  }
  if (!call.ok()) return call.status();
  if (call->mode() != livecall::v1::CALL_MODE_AI) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", call->call_sid(), " is not an AI voice-agent call"));
  }
  if (call->handed_off()) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", call->call_sid(), " has been handed to a human agent"));
  }
  if (Param(query, "step") == "greet") {
    int attempt = 0;
    if (!absl::SimpleAtoi(Param(query, "attempt"), &attempt)) attempt = 0;
    // Twilio may fetch the opening before the call's AI session is recorded (the callee answered
    // within milliseconds): wait a second on the line and ask again, a few times.
    if (call->text().empty() && call->session_id().empty() && attempt < kGreetAttempts) {
      TwimlElement pause = Verb("Pause");
      pause.Attr("length", "1");
      TwimlElement again = Verb("Redirect", absl::StrCat(options_.public_url,
                                                         "/twilio/gather?step=greet&attempt=",
                                                         attempt + 1));
      again.Attr("method", "POST");
      return RenderTwiml({pause, again});
    }
    return VoiceAgentTwiml(*call, voice_agent_.Greet(*call), 0, /*next_turn=*/1);
  }
  int unclear = 0;
  if (!absl::SimpleAtoi(Param(query, "unclear"), &unclear) || unclear < 0) unclear = 0;
  // Which of the caller's turns this is: every <Gather> we answer names the next one in its
  // action URL, so a retry of one request carries the same number and the next turn another.
  int turn_number = 0;
  if (!absl::SimpleAtoi(Param(query, "turn"), &turn_number) || turn_number < 0) turn_number = 0;
  float confidence = 0;
  if (!absl::SimpleAtof(Param(params, "Confidence"), &confidence)) confidence = 0;
  const std::string speech = Param(params, "SpeechResult");

  // Twilio may deliver a Gather action more than once (a timeout, connection overrides): a retry
  // must not add the caller's words to the conversation again nor hand over twice, so it gets the
  // first answer's TwiML.
  const std::string dedup_key = absl::StrCat("gather:", call->call_sid(), ":", turn_number, ":",
                                             unclear, ":", TextDigest(speech));
  const absl::Time give_up = absl::Now() + kGatherDedupWait;
  while (true) {
    LIVECALL_ASSIGN_OR_RETURN(bool first, calls_.ReserveIdempotencyKey(dedup_key, kGatherDedupTtl));
    if (first) break;
    LIVECALL_ASSIGN_OR_RETURN(std::optional<std::string> answered,
                              calls_.LookupIdempotencyKey(dedup_key));
    if (answered.has_value() && !answered->empty()) {
      LogInfo("retried gather answered again", {{"callSid", call->call_sid()}});
      return *answered;
    }
    if (!answered.has_value()) continue;  // The first request failed and let the key go.
    if (absl::Now() >= give_up) {
      return absl::UnavailableError("this turn's first request is still being answered");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  // Nothing heard (a silent caller, or a model that does not hear the language) or Twilio's
  // ErrorCode: the agent following the call sees the voice agent's hearing fail.
  if (const std::string code = Param(params, "ErrorCode"); speech.empty() || !code.empty()) {
    livecall::v1::SpeechError error;
    error.set_source("gather");
    error.set_leg_call_sid(sid);
    error.set_leg("customer");
    error.set_code(code);
    error.set_message(code.empty() ? "the voice agent heard no speech"
                                   : "Twilio could not recognise the caller's speech");
    if (absl::Status published = PublishSpeechError(*call, error); !published.ok()) {
      LogError("cannot publish a speech.error event",
               {{"callSid", call->call_sid()}, {"error", published.ToString()}});
    }
  }
  const VoiceAgentTurn turn = voice_agent_.Hear(*call, speech, confidence, unclear);
  LogInfo("voice agent turn",
          {{"callSid", call->call_sid()}, {"action", turn.action}, {"unclear", turn.unclear ? "yes" : "no"}});
  absl::StatusOr<std::string> twiml = VoiceAgentTwiml(*call, turn, unclear, turn_number + 1);
  if (!twiml.ok()) {
    LIVECALL_RETURN_IF_ERROR(calls_.ReleaseIdempotencyKey(dedup_key));
    return twiml.status();
  }
  LIVECALL_RETURN_IF_ERROR(calls_.CompleteIdempotencyKey(dedup_key, *twiml, kGatherDedupTtl));
  return twiml;
}

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

grpc::ServerUnaryReactor* TwilioWebhookService::Voice(
    grpc::CallbackServerContext* context, const livecall::v1::TwilioWebhookRequest* request,
    livecall::v1::TwimlResponse* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response->mutable_twiml(), HandleVoice(request->params()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TwilioWebhookService::CallStatus(
    grpc::CallbackServerContext* context, const livecall::v1::TwilioWebhookRequest* request,
    livecall::v1::WebhookAck* response) {
  return FinishOnExecutor(context, executor_,
                          [this, request] { return HandleCallStatus(request->params()); });
}

grpc::ServerUnaryReactor* TwilioWebhookService::ConferenceStatus(
    grpc::CallbackServerContext* context, const livecall::v1::TwilioWebhookRequest* request,
    livecall::v1::WebhookAck* response) {
  return FinishOnExecutor(context, executor_,
                          [this, request] { return HandleConferenceStatus(request->params()); });
}

grpc::ServerUnaryReactor* TwilioWebhookService::Transcription(
    grpc::CallbackServerContext* context, const livecall::v1::TwilioWebhookRequest* request,
    livecall::v1::WebhookAck* response) {
  return FinishOnExecutor(context, executor_,
                          [this, request] { return HandleTranscription(request->params()); });
}

grpc::ServerUnaryReactor* TwilioWebhookService::Gather(
    grpc::CallbackServerContext* context, const livecall::v1::TwilioWebhookRequest* request,
    livecall::v1::TwimlResponse* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response->mutable_twiml(),
                              HandleGather(request->params(), request->query()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TwilioWebhookService::DtmfAnnouncement(
    grpc::CallbackServerContext* context, const livecall::v1::TwilioWebhookRequest* request,
    livecall::v1::TwimlResponse* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response->mutable_twiml(), HandleDtmf(request->query()));
    return absl::OkStatus();
  });
}

}  // namespace livecall::call_control
