// /twilio/voice: an agent's browser call (dial the customer into its conference) or a customer
// calling our number (ring the available agents into theirs); and the AI session each starts.

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/language.h"
#include "common/log.h"
#include "common/phone_number.h"
#include "common/proto_time.h"
#include "common/request_id.h"
#include "common/status.h"
#include "services/call-control/calls/answer_once.h"
#include "services/call-control/calls/call_state_machine.h"
#include "services/call-control/twilio/twilio_webhook_internal.h"
#include "services/call-control/twilio/twilio_webhook_service.h"
#include "services/call-control/twilio/twiml.h"
#include "services/call-control/twilio/voice_token.h"

namespace livecall::call_control {
namespace {

// A retried /twilio/voice within this time answers the first TwiML again.
constexpr absl::Duration kVoiceDedupTtl = absl::Hours(1);
// Twilio waits 15 s for a webhook's answer (the gateway gives call-control
// LIVECALL_WEBHOOK_DEADLINE_MS, 12 s by default): a REST request made before answering and the
// wait for the AI session's language together stay well inside that.
constexpr absl::Duration kWebhookRestBudget = absl::Seconds(5);
constexpr absl::Duration kSessionStartWait = absl::Seconds(3);

std::string SayAndHangUp(absl::string_view text) {
  return RenderTwiml({Verb("Say", text), Verb("Hangup")});
}

}  // namespace

using webhook_internal::kAgentLabelPrefix;
using webhook_internal::kConferencePrefix;
using webhook_internal::Param;

absl::StatusOr<std::string> TwilioWebhookService::HandleVoice(const Params& params) {
  struct Answer {
    absl::Notification given;
    absl::StatusOr<std::string> twiml;
  };
  auto answer = std::make_shared<Answer>();
  HandleVoice(params, [answer](absl::StatusOr<std::string> twiml) {
    answer->twiml = std::move(twiml);
    answer->given.Notify();
  });
  answer->given.WaitForNotification();
  return answer->twiml;
}

void TwilioWebhookService::HandleVoice(const Params& params, VoiceDone done) {
  const std::string call_sid = Param(params, "CallSid");
  if (!IsCallSidShaped(call_sid)) {
    return done(absl::InvalidArgumentError("CallSid is missing or malformed"));
  }
  if (twilio_ == nullptr) {
    return done(absl::FailedPreconditionError(
        "Twilio is not configured (TWILIO_ACCOUNT_SID); this call-control runs the sandbox"));
  }
  const std::string from = Param(params, "From");
  // A customer's call writes nothing before its one script (CustomerCall); a browser's call dials
  // the customer before it answers, so it claims its CallSid first.
  if (!absl::StartsWith(from, "client:")) return CustomerCall(call_sid, params, std::move(done));
  BrowserCall(call_sid, from, params, std::move(done));
}

void TwilioWebhookService::BrowserCall(const std::string& call_sid, const std::string& from,
                                       const Params& params, VoiceDone done) {
  // Twilio delivers at least once: a retry gets the first answer and dials no one again.
  const std::string key = absl::StrCat("voice:", call_sid);
  const AnswerOnceOptions once{
      .ttl = kVoiceDedupTtl,
      .still_running = absl::UnavailableError("this call's first webhook is still being answered")};
  absl::StatusOr<std::optional<OnceAnswer>> earlier = ClaimOnce(calls_, key, once);
  if (!earlier.ok()) return done(earlier.status());
  if (earlier->has_value()) return done((*earlier)->text);
  // Claimed: the answer is kept before it is given (or, failed, the claim let go).
  VoiceDone finish = [this, key, once, done = std::move(done)](absl::StatusOr<std::string> twiml) {
    absl::StatusOr<OnceAnswer> kept = FinishOnce(calls_, key, once, std::move(twiml));
    if (!kept.ok()) return done(kept.status());
    done(std::move(kept->text));
  };
  // A CallSid answered before, past the dedup window, is no retry of Twilio's (those come within
  // seconds) but a replay of a signed request: it dials nobody and joins nothing.
  absl::StatusOr<bool> new_call = calls_.MarkVoiceCallNew(call_sid);
  if (!new_call.ok()) return finish(new_call.status());
  if (!*new_call) {
    LogWarning("replayed /twilio/voice for a known call: hung up", {{"callSid", call_sid}});
    return finish(RenderTwiml({Verb("Hangup")}));
  }
  AgentCall(call_sid, from.substr(7), Param(params, "To"), Param(params, "Language"),
            [this, call_sid, finish = std::move(finish)](absl::StatusOr<std::string> twiml) {
              // Failed: Twilio's retry tries afresh.
              if (!twiml.ok()) {
                if (absl::Status forgot = calls_.ForgetVoiceCall(call_sid); !forgot.ok()) {
                  return finish(forgot);
                }
              }
              finish(std::move(twiml));
            });
}

void TwilioWebhookService::AgentCall(const std::string& call_sid, const std::string& identity,
                                     const std::string& raw_to, const std::string& raw_language,
                                     VoiceDone done) {
  absl::StatusOr<std::string> to = NormalizePhoneNumber(raw_to);
  if (!to.ok()) {
    LogWarning("agent dialled an invalid number", {{"callSid", call_sid}, {"to", raw_to}});
    return done(SayAndHangUp("The number you dialled is not a valid phone number."));
  }
  // The customer's leg is an outbound call like any PlaceCall: it must be to an allowed number,
  // and it takes a slot of the global cap and of the agent's quota before anyone is dialled,
  // given back when it ends (OutboundCallLimit's sweep), or at once if nobody is dialled.
  OutboundSlot slot;
  if (options_.outbound_limit != nullptr) {
    absl::StatusOr<OutboundSlot> admitted =
        options_.outbound_limit->Admit(*to, identity, absl::Now());
    if (const OutboundRefusal refusal = RefusalOf(admitted.status());
        refusal != OutboundRefusal::kNone) {
      LogWarning("agent call refused",
                 {{"callSid", call_sid}, {"error", admitted.status().ToString()}});
      const std::string language = ParseLanguage(raw_language).value_or("en");
      absl::StatusOr<TwimlElement> refused =
          speech_.Render({.text = OutboundRefusalLine(refusal, language), .language = language});
      if (!refused.ok()) return done(refused.status());
      return done(RenderTwiml({*std::move(refused), Verb("Hangup")}));
    }
    if (!admitted.ok()) return done(admitted.status());
    slot = *std::move(admitted);
  }
  const std::string conference = absl::StrCat(kConferencePrefix, call_sid);
  absl::StatusOr<TwilioParticipant> customer = twilio_->DialIntoConference(
      conference, *to, options_.caller_id, "customer", /*end_conference_on_exit=*/true,
      absl::Now() + kWebhookRestBudget);
  if (!customer.ok()) {
    LogError("cannot dial the customer into the conference",
             {{"callSid", call_sid}, {"error", customer.status().ToString()}});
    // Nobody was dialled: the slot is given back as this returns.
    return done(SayAndHangUp("The call could not be placed. Please try again."));
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
  if (absl::Status created =
          calls_.Create(call, {call_sid}, slot.CommitWrites(call.call_sid(), now));
      !created.ok()) {
    return done(created);
  }

  absl::StatusOr<std::string> agent_id = AgentIdFromIdentity(identity);
  StartSession(call, agent_id.ok() ? *agent_id : identity,
               [this, call, call_sid, done = std::move(done)](std::string language) {
                 if (language.empty()) language = DefaultLanguageForNumber(call.to());
                 // This TwiML runs on the browser's leg: its inbound track is the agent speaking.
                 TwimlElement start = StartTranscription(language, "agent", "customer");
                 TwimlElement dial = Verb("Dial");
                 dial.Attr("callerId", options_.caller_id);
                 dial.Add(Verb("Conference", call.conference_name()))
                     .Attr("participantLabel", "agent")
                     .Attr("startConferenceOnEnter", "true")
                     .Attr("endConferenceOnExit", "true")
                     .Attr("beep", "false")
                     .Attr("statusCallback",
                           absl::StrCat(options_.public_url, "/twilio/conference"))
                     .Attr("statusCallbackEvent", "start end join leave hold mute")
                     .Attr("waitUrl", "");
                 LogInfo("agent call", {{"callSid", call.call_sid()}, {"agentCallSid", call_sid}});
                 done(RenderTwiml({start, dial}));
               });
}

// A customer's call on its way to its answer: its AI session is asked for (OpenSession) and the
// webhook goes on with the session (SessionStarted, on a polling thread of the queue that asked for
// it) or without it after kSessionStartWait (SessionWaitOver, on the executor), whichever is first.
// A session that comes later is recorded on the call by whichever of the two is last: the start, or
// the webhook once it has written the call without it.
struct TwilioWebhookService::PendingSession {
  livecall::v1::Call call;  // Not yet written.
  VoiceDone done;
  std::string request_id;
  bool opened = false;  // Its session was asked for.

  absl::Mutex mu;
  bool went_on ABSL_GUARDED_BY(mu) = false;  // The webhook has gone on, with or without it.
  DeadlineTimer::TaskId wait_over ABSL_GUARDED_BY(mu) = 0;
  bool answered ABSL_GUARDED_BY(mu) = false;
  std::optional<livecall::v1::Session> session ABSL_GUARDED_BY(mu);
  bool record_late ABSL_GUARDED_BY(mu) = false;
};

void TwilioWebhookService::CustomerCall(const std::string& call_sid, const Params& params,
                                        VoiceDone done) {
  // Twilio delivers at least once. Until the call's one script (CallStore::AnswerVoiceCall)
  // nothing of the call is written and nobody is dialled, so a retry needs no claim and no read
  // before it: the script finds the first delivery's answer (or, past the dedup window, that the
  // sid is known) and writes nothing, and of two deliveries at once it writes one and answers the
  // other with that one's TwiML. The AI session is asked for before the script, by every delivery:
  // context keeps one session per call, so a retry's start gets the first one's session back.
  const std::string raw_from = Param(params, "From");
  absl::StatusOr<std::string> from = NormalizePhoneNumber(raw_from);
  const absl::Time now = absl::Now();
  auto pending = std::make_shared<PendingSession>();
  livecall::v1::Call& call = pending->call;
  call.set_call_sid(call_sid);
  call.set_from(from.ok() ? *from : raw_from);
  call.set_to(Param(params, "To"));
  call.set_conference_name(absl::StrCat(kConferencePrefix, call_sid));
  call.set_direction("inbound");
  call.set_provider("twilio");
  *call.mutable_created_at() = ToProtoTimestamp(now);
  RecordCallStatus(
      call,
      ParseCallStatus(Param(params, "CallStatus")).value_or(livecall::v1::CALL_STATUS_RINGING),
      now);
  pending->done = std::move(done);
  pending->request_id = CurrentRequestId();

  // The session starts before the call is written, so the call is written once, with it.
  if (from.ok()) {
    pending->opened = true;
    return OpenSession(pending);
  }
  LogWarning("caller has no usable number; no AI session",
             {{"callSid", call_sid}, {"from", raw_from}});
  AnswerCustomer(pending, std::nullopt);
}

void TwilioWebhookService::OpenSession(const std::shared_ptr<PendingSession>& pending) {
  {
    // The timer holds no reference: a webhook gone on without it leaves nothing behind but the
    // timer's entry, cancelled.
    std::weak_ptr<PendingSession> weak = pending;
    absl::MutexLock lock(&pending->mu);
    pending->wait_over = session_waits_.Schedule(absl::Now() + kSessionStartWait, [this, weak] {
      if (std::shared_ptr<PendingSession> waiting = weak.lock()) SessionWaitOver(waiting);
    });
  }
  // Held until the answer has been handled: this service outlives every answer's handling.
  auto in_flight = std::make_shared<PendingCalls::Guard>(&session_starts_);
  sessions_.OpenAsync(pending->call, "", "", pending->request_id,
                      [this, pending, in_flight](absl::StatusOr<livecall::v1::Session> session) {
                        SessionStarted(pending, std::move(session));
                      });
}

void TwilioWebhookService::SessionStarted(const std::shared_ptr<PendingSession>& pending,
                                          absl::StatusOr<livecall::v1::Session> session) {
  bool go_on = false;
  bool record_late = false;
  DeadlineTimer::TaskId wait_over = 0;
  {
    absl::MutexLock lock(&pending->mu);
    pending->answered = true;
    if (session.ok()) pending->session = *session;
    if (!pending->went_on) {
      pending->went_on = go_on = true;
      wait_over = pending->wait_over;
    } else {
      record_late = pending->record_late && session.ok();
    }
  }
  // The answer came back on a polling thread of the queue that asked (CallOnQueue), whose work may
  // block on Redis: the webhook goes on right here, with no hand-off to the executor. From
  // anywhere else (gRPC's callback threads) it must not block.
  const bool may_block = OnPollingThread();
  if (go_on) {
    session_waits_.Cancel(wait_over);
    std::optional<livecall::v1::Session> started;
    if (session.ok()) started = *std::move(session);
    if (may_block) return AnswerCustomer(pending, started);
    executor_.Submit(
        [this, pending, started = std::move(started)] { AnswerCustomer(pending, started); });
  } else if (record_late) {
    // Answered after the call was written without it: recorded now, after answering.
    auto record = [this, pending, session = *std::move(session)] {
      ScopedRequestId scope(pending->request_id);
      RecordLateSession(pending->call.call_sid(), session);
    };
    if (may_block) return record();
    executor_.Submit(std::move(record));
  }
}

void TwilioWebhookService::SessionWaitOver(const std::shared_ptr<PendingSession>& pending) {
  {
    absl::MutexLock lock(&pending->mu);
    if (pending->went_on) return;
    pending->went_on = true;
  }
  ScopedRequestId scope(pending->request_id);
  LogWarning("ai-session is slow: answering Twilio before the call's AI session has started",
             {{"callSid", pending->call.call_sid()}});
  executor_.Submit([this, pending] { AnswerCustomer(pending, std::nullopt); });
}

void TwilioWebhookService::AnswerCustomer(const std::shared_ptr<PendingSession>& pending,
                                          const std::optional<livecall::v1::Session>& session) {
  ScopedRequestId scope(pending->request_id);
  pending->done(CustomerTwiml(pending, session));
}

absl::StatusOr<std::string> TwilioWebhookService::CustomerTwiml(
    const std::shared_ptr<PendingSession>& pending,
    const std::optional<livecall::v1::Session>& session) {
  livecall::v1::Call call = pending->call;
  const std::string& call_sid = call.call_sid();
  std::string language;
  if (pending->opened) {
    if (session.has_value()) {
      call.set_session_id(session->session_id());
      call.set_language(session->language());
      language = session->language();
    }
    if (language.empty()) language = DefaultLanguageForNumber(call.from());
  }

  // The script rings the available agents or, when there are none, says the busy line: both
  // answers go with it, and it keeps the one it gave. The busy line is the same for every call
  // (BusyLine keeps it), so rendering it for a call that rings agents costs little.
  CallStore::VoiceAnswers answers;
  if (options_.max_agents_rung > 0) {
    // This TwiML runs on the customer's leg: its inbound track is the customer speaking.
    answers.ring = RenderTwiml({StartTranscription(language, "customer", "agent"),
                                CustomerConferenceDial(call.conference_name())});
  }
  {
    // The customer hears it in their own language (Uzbek as our own audio, speech.h).
    const std::string said = language.empty() ? DefaultLanguageForNumber(call.from()) : language;
    LIVECALL_ASSIGN_OR_RETURN(TwimlElement busy, BusyLine(said));
    answers.busy = RenderTwiml({std::move(busy), Verb("Hangup")});
  }

  LIVECALL_ASSIGN_OR_RETURN(
      CallStore::VoiceCallWrite write,
      calls_.AnswerVoiceCall(call, answers, kVoiceDedupTtl, absl::Now(), options_.max_agents_rung));
  if (!write.written) {
    if (!write.answer.has_value()) {
      // A replay of a signed request after the dedup window: it rings nobody and writes nothing.
      LogWarning("replayed /twilio/voice for a known call: hung up", {{"callSid", call_sid}});
      return RenderTwiml({Verb("Hangup")});
    }
    // Twilio's retry, or another delivery of this CallSid written meanwhile: its answer is the
    // answer.
    LogInfo("/twilio/voice delivered again: answered with the first's TwiML",
            {{"callSid", call_sid}});
    return *std::move(write.answer);
  }
  if (pending->opened && call.session_id().empty()) RecordWhenStarted(pending, call_sid);
  if (write.agents.empty()) {
    // Info, not a warning: an empty floor is an outcome, not a fault, and a warning is written at
    // once (one write(2) per call, common/log.h) where info lines are written in batches.
    LogInfo("inbound call but no agent is available", {{"callSid", call_sid}});
  } else {
    LogInfo("inbound call", {{"callSid", call_sid}});
    Ring(call_sid, call.conference_name(), call.from(), std::move(write.agents));
  }
  return *std::move(write.answer);
}

void TwilioWebhookService::RecordWhenStarted(const std::shared_ptr<PendingSession>& pending,
                                             const std::string& call_sid) {
  std::optional<livecall::v1::Session> session;
  {
    absl::MutexLock lock(&pending->mu);
    pending->record_late = true;
    if (pending->answered) session = pending->session;
  }
  // Answered after the wait but before the call was written: recorded now, after answering.
  if (session.has_value()) {
    executor_.Submit(
        [this, call_sid, session = *std::move(session)] { RecordLateSession(call_sid, session); });
  }
}

absl::StatusOr<TwimlElement> TwilioWebhookService::BusyLine(const std::string& language) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&busy_lines_mu_);
    auto it = busy_lines_.find(language);
    if (it != busy_lines_.end() && now - it->second.rendered_at < options_.busy_line_reuse) {
      return it->second.verb;
    }
  }
  LIVECALL_ASSIGN_OR_RETURN(TwimlElement verb, speech_.Render({.text = VoiceAgentBusyLine(language),
                                                               .language = language}));
  absl::MutexLock lock(&busy_lines_mu_);
  busy_lines_[language] = RenderedLine{.verb = verb, .rendered_at = now};
  return verb;
}

void TwilioWebhookService::RecordLateSession(const std::string& call_sid,
                                             const livecall::v1::Session& session) {
  absl::StatusOr<livecall::v1::Call> recorded = sessions_.Record(call_sid, session);
  // The call may have ended while its session was starting: then the session ends too.
  if (recorded.ok()) sessions_.EndIfFinished(*recorded);
}

// An agent's browser call, written already, on its way to its answer: its AI session is asked
// for on the polling thread's completion queue, recorded on the call when it comes (in place on
// that thread), and the webhook goes on with its language, or without it after kSessionStartWait
// (on the executor), whichever is first.
struct TwilioWebhookService::AgentSessionStart {
  std::string call_sid;
  std::string request_id;
  std::function<void(std::string)> go_on;
  absl::Mutex mu;
  bool went_on ABSL_GUARDED_BY(mu) = false;
  DeadlineTimer::TaskId wait_over ABSL_GUARDED_BY(mu) = 0;
};

void TwilioWebhookService::StartSession(const livecall::v1::Call& call, const std::string& agent_id,
                                        std::function<void(std::string)> go_on) {
  auto start = std::make_shared<AgentSessionStart>();
  start->call_sid = call.call_sid();
  start->request_id = CurrentRequestId();
  start->go_on = std::move(go_on);
  {
    std::weak_ptr<AgentSessionStart> weak = start;
    absl::MutexLock lock(&start->mu);
    start->wait_over = session_waits_.Schedule(absl::Now() + kSessionStartWait, [this, weak] {
      std::shared_ptr<AgentSessionStart> waiting = weak.lock();
      if (waiting == nullptr) return;
      {
        absl::MutexLock lock(&waiting->mu);
        if (waiting->went_on) return;
        waiting->went_on = true;
      }
      ScopedRequestId scope(waiting->request_id);
      LogWarning("ai-session is slow: answering Twilio before the call's AI session has started",
                 {{"callSid", waiting->call_sid}});
      executor_.Submit([waiting] {
        ScopedRequestId scope(waiting->request_id);
        waiting->go_on("");
      });
    });
  }
  // Held until the answer has been handled: this service outlives every answer's handling.
  auto in_flight = std::make_shared<PendingCalls::Guard>(&session_starts_);
  sessions_.OpenAsync(call, agent_id, "", start->request_id,
                      [this, start, in_flight](absl::StatusOr<livecall::v1::Session> session) {
                        auto record = [this, start, in_flight, session = std::move(session)] {
                          ScopedRequestId scope(start->request_id);
                          std::string language;
                          if (session.ok()) {
                            absl::StatusOr<livecall::v1::Call> recorded =
                                sessions_.Record(start->call_sid, *session);
                            // The call may have ended while its session was starting: then the
                            // session ends too.
                            if (recorded.ok()) {
                              sessions_.EndIfFinished(*recorded);
                              language = recorded->language();
                            }
                          }
                          DeadlineTimer::TaskId wait_over = 0;
                          {
                            absl::MutexLock lock(&start->mu);
                            if (start->went_on) return;
                            start->went_on = true;
                            wait_over = start->wait_over;
                          }
                          session_waits_.Cancel(wait_over);
                          start->go_on(std::move(language));
                        };
                        // Back on a polling thread of the queue that asked (CallOnQueue), whose
                        // work may block on Redis: the session is recorded and the webhook goes on
                        // right here. Anywhere else: the executor.
                        if (OnPollingThread()) return record();
                        executor_.Submit(std::move(record));
                      });
}

absl::StatusOr<bool> TwilioWebhookService::RingAgents(const std::string& call_sid,
                                                      const std::string& conference,
                                                      const std::string& caller) {
  LIVECALL_ASSIGN_OR_RETURN(std::vector<std::string> agents,
                            calls_.AvailableAgents(absl::Now(), options_.max_agents_rung));
  if (agents.empty()) return false;
  Ring(call_sid, conference, caller, std::move(agents));
  return true;
}

void TwilioWebhookService::Ring(const std::string& call_sid, const std::string& conference,
                                const std::string& caller, std::vector<std::string> agents) {
  LogInfo("ringing agents", {{"callSid", call_sid}, {"agentsRung", absl::StrCat(agents.size())}});
  executor_.Submit([this, call_sid, conference, caller, agents = std::move(agents)] {
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
}

}  // namespace livecall::call_control
