#ifndef LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_SERVICE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_SERVICE_H_

// livecall.v1.TwilioWebhooks: what call-control answers Twilio. The gateway has verified each
// request's X-Twilio-Signature before it gets here.
//
//  /twilio/voice   From=client:<identity> (an agent's browser, TwiML App): dial the customer into
//                  the conference "call-<browser leg>" (REST Participants), start the AI session
//                  for the customer's number, answer TwiML that starts real-time transcription
//                  and joins the agent to the conference. At the outbound-call cap
//                  (LIVECALL_MAX_ACTIVE_CALLS), over the agent's quota or to a number outside
//                  LIVECALL_ALLOWED_DIAL_PREFIXES nobody is dialled: the agent hears why (in the
//                  page's Language parameter, uz/ru/en; else English).
//                  Twilio waits 15 s for the answer: dialling the customer is bounded (5 s) and
//                  the AI session is waited for at most 3 s (it then starts in the background
//                  and is recorded with the call once it exists; transcription listens in the
//                  number's language meanwhile). Ringing agents happens after answering.
//                  From=<phone> (a customer calling our number): start the AI session (it looks up
//                  the caller's context), answer TwiML that joins the customer to the conference
//                  "call-<customer leg>" (with wait music) and ring every available agent into it.
//  /twilio/status      call status callbacks: forward-only moves of the call's state machine; when
//                      the customer's leg ends, the agents still ringing stop and an agent left
//                      alone in the conference is hung up.
//  /twilio/conference  conference events: the conference SID, who joined, hold and mute; the
//                      customer's participant-leave and conference-end end the call (inbound
//                      customers' legs have no status callback of their own by default).
//  /twilio/transcription  final utterances become turns of the call's AI session; a
//                  transcription-error becomes a speech.error live event on the call's stream.
//  /twilio/gather  AI voice-agent calls ("ai" mode): ?step=greet answers the opening (greeting in a
//                  <Gather input="speech">); every later request carries what the caller said
//                  (SpeechResult, Confidence) and is answered with the agent's reply in the next
//                  <Gather>, a goodbye and <Hangup/>, or a hand-off: the caller joins the
//                  conference "call-<sid>" and the available agents are rung into it. A turn
//                  that heard nothing (or Twilio's ErrorCode) is a speech.error live event too.
//  /twilio/dtmf        the announcement TwiML that plays DTMF to the customer.
//
// A retried webhook (Twilio delivers at least once) changes nothing twice: /twilio/voice is
// deduplicated by its CallSid (and a CallSid answered before, replayed after that window, gets
// <Hangup/>), /twilio/gather by CallSid + turn number (in the action URL) +
// unclear count + a digest of SpeechResult (the retry gets the first TwiML), transcripts by
// TranscriptionSid + SequenceId; status and conference events only move state forward.
//
// One file per webhook family: voice_webhook.cc (/twilio/voice, ringing agents, starting the AI
// session), call_status_webhook.cc, conference_webhook.cc, transcription_webhook.cc,
// gather_webhook.cc (the voice agent's turns), dtmf_webhook.cc; twilio_webhook_service.cc holds
// the RPCs and what several families share (stopping an ended call's legs, TwiML pieces).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "common/pending_calls.h"
#include "common/queued_unary.h"
#include "livecall/v1/twilio_webhooks.grpc.pb.h"
#include "services/call-control/calls/call_sessions.h"
#include "services/call-control/calls/call_store.h"
#include "services/call-control/calls/outbound_call_limit.h"
#include "services/call-control/deadline_timer.h"
#include "services/call-control/speech.h"
#include "services/call-control/twilio/speech_recognition.h"
#include "services/call-control/twilio/twilio_provider.h"
#include "services/call-control/twilio/twiml.h"
#include "services/call-control/voice_agent.h"

namespace livecall::call_control {

struct TwilioWebhookOptions {
  std::string public_url;  // LIVECALL_PUBLIC_URL, no trailing '/'.
  std::string caller_id;   // TWILIO_CALLER_ID (E.164)
  // How Twilio listens to each language: <Start><Transcription> and the voice agent's <Gather>.
  SpeechRecognitionConfig recognition;
  // Where speech.error live events go (transcription-error, a <Gather> that heard nothing or
  // failed). Null: only logged.
  SpeechErrorEvents* speech_errors = nullptr;
  // How many available agents an inbound call rings at once.
  int max_agents_rung = 5;
  // The global cap on concurrent outbound calls, shared with PlaceCall: a browser call dials a
  // customer too. Null: no cap.
  OutboundCallLimit* outbound_limit = nullptr;
  // How long a rendered busy line (no agent available) is said again as it is. Our own audio's URL
  // stays valid for LIVECALL_TTS_URL_TTL_S (an hour by default) and its cache entry for a day after
  // its last use (renewed by each rendering); but the cache also evicts its least recently used
  // entries past LIVECALL_TTS_CACHE_MAX_ENTRIES, and a line not renewed while thousands of others
  // are rendered could go. Ten seconds keeps that window small (2,000 renderings in 10 s would be
  // needed) and still spares the round trip for all calls but one in ten seconds on a busy floor.
  absl::Duration busy_line_reuse = absl::Seconds(10);
};

using Params = google::protobuf::Map<std::string, std::string>;

// The RPCs are served from completion queues (common/queued_unary.h, QueuedWork::kMayBlock):
// each handler blocks on Redis in place on one polling thread; `executor` runs the follow-ups
// that no webhook waits for.
class TwilioWebhookService final : public QueuedService<livecall::v1::TwilioWebhooks> {
 public:
  // Adds the RPCs to `unary`, which the same server serves. `twilio` is null when Twilio is not
  // configured (sandbox): then /twilio/voice is refused and the event webhooks still update the
  // calls they name.
  TwilioWebhookService(TwilioProvider* twilio, CallStore& calls, CallSessions& sessions,
                       VoiceAgent& voice_agent, SpeechRenderer& speech, Executor& executor,
                       QueuedUnaryMethods& unary, TwilioWebhookOptions options);

  // The work behind the RPCs, each in its family's file; blocking.
  // /twilio/voice (voice_webhook.cc): `done` runs once with the TwiML, on this thread or, for a
  // customer's call, once its AI session has started (on the polling thread that asked for it;
  // on the executor when the start was made elsewhere) or 3 s have passed (on the executor), so
  // no thread waits for ai-session meanwhile.
  using VoiceDone = std::function<void(absl::StatusOr<std::string>)>;
  void HandleVoice(const Params& params, VoiceDone done);
  // The same, waiting for the answer (tests; never on the executor, which answers it).
  absl::StatusOr<std::string> HandleVoice(const Params& params);
  absl::Status HandleCallStatus(const Params& params);          // call_status_webhook.cc
  absl::Status HandleConferenceStatus(const Params& params);    // conference_webhook.cc
  absl::Status HandleTranscription(const Params& params);       // transcription_webhook.cc
  absl::StatusOr<std::string> HandleDtmf(const Params& query);  // dtmf_webhook.cc
  absl::StatusOr<std::string> HandleGather(const Params& params,
                                           const Params& query);  // gather_webhook.cc

 private:
  // voice_webhook.cc
  // `language`: the page's Language parameter (device.connect params), for what the agent hears
  // when the call cannot be placed; empty or unknown: English.
  // `done` runs once with the TwiML (see StartSession for where).
  void AgentCall(const std::string& call_sid, const std::string& identity, const std::string& to,
                 const std::string& language, VoiceDone done);
  // A browser's call, deduplicated by its CallSid (ClaimOnce before, FinishOnce after).
  void BrowserCall(const std::string& call_sid, const std::string& from, const Params& params,
                   VoiceDone done);
  void CustomerCall(const std::string& call_sid, const Params& params, VoiceDone done);
  // Starts the AI session of a browser's call (written already) and records it with the call.
  // `go_on` runs once: with the session's language once it has been recorded (on the polling
  // thread that asked for it, or on the executor when asked from elsewhere), or with "" when
  // ai-session failed (logged) or has not answered within 3 s (on the executor; a session that
  // comes later is still recorded). No thread waits meanwhile.
  struct AgentSessionStart;
  void StartSession(const livecall::v1::Call& call, const std::string& agent_id,
                    std::function<void(std::string)> go_on);
  // Rings up to max_agents_rung available agents into `conference` (in the background). False
  // when no agent is available.
  absl::StatusOr<bool> RingAgents(const std::string& call_sid, const std::string& conference,
                                  const std::string& caller);
  // Rings `agents` into `conference`, in the background.
  void Ring(const std::string& call_sid, const std::string& conference, const std::string& caller,
            std::vector<std::string> agents);
  // A customer's call: its AI session starts before the call is written (OpenSession, on the
  // polling thread's own completion queue) and the webhook goes on (AnswerCustomer) when it has
  // started (SessionStarted, where the answer came back) or after 3 s (SessionWaitOver, on the
  // executor), whichever is first; one that comes later is recorded on the call then
  // (RecordWhenStarted, after the call's write; RecordLateSession).
  struct PendingSession;
  void OpenSession(const std::shared_ptr<PendingSession>& pending);
  void SessionStarted(const std::shared_ptr<PendingSession>& pending,
                      absl::StatusOr<livecall::v1::Session> session);
  void SessionWaitOver(const std::shared_ptr<PendingSession>& pending);
  void AnswerCustomer(const std::shared_ptr<PendingSession>& pending,
                      const std::optional<livecall::v1::Session>& session);
  absl::StatusOr<std::string> CustomerTwiml(const std::shared_ptr<PendingSession>& pending,
                                            const std::optional<livecall::v1::Session>& session);
  void RecordWhenStarted(const std::shared_ptr<PendingSession>& pending,
                         const std::string& call_sid);
  void RecordLateSession(const std::string& call_sid, const livecall::v1::Session& session);
  // What a customer hears when no agent is available, in `language`: rendered (a TTS cache
  // lookup in Redis for our own audio) at most once per kBusyLineReuse per language, not once per
  // call. Failures are not kept.
  absl::StatusOr<TwimlElement> BusyLine(const std::string& language);

  // gather_webhook.cc
  // The voice agent's turn as TwiML on the customer's leg of `call`; a <Gather>'s action URL
  // carries the unclear count and `next_turn`, the number of the caller's next turn.
  absl::StatusOr<std::string> VoiceAgentTwiml(const livecall::v1::Call& call,
                                              const VoiceAgentTurn& turn, int unclear_attempts,
                                              int next_turn);

  // transcription_webhook.cc
  // HandleTranscription's transcription-error: a speech.error live event on the call's stream.
  absl::Status TranscriptionFailed(const Params& params);

  // twilio_webhook_service.cc: shared by several families.
  // After the call has ended (in the background): cancels the agent legs still ringing, the
  // customer's leg when `cancel_customer` (still being dialled), and, unless the customer
  // answered and so ended the conference by leaving, ends the conference or the agent's leg.
  void StopOtherLegs(const livecall::v1::Call& call, bool cancel_customer);
  // Logs `error` and publishes it as a speech.error live event on `call`'s stream.
  absl::Status PublishSpeechError(const livecall::v1::Call& call,
                                  const livecall::v1::SpeechError& error);
  // <Start><Transcription> of both tracks, labelled from the point of view of the leg the TwiML
  // runs on: its inbound track is `inbound_label` ("agent" or "customer").
  TwimlElement StartTranscription(const std::string& session_language,
                                  absl::string_view inbound_label,
                                  absl::string_view outbound_label) const;
  // The customer's leg joins its call's conference: it waits for an agent (the conference starts
  // when the agent joins), and the conference ends when the customer hangs up.
  TwimlElement CustomerConferenceDial(const std::string& conference) const;

  TwilioProvider* twilio_;
  CallStore& calls_;
  CallSessions& sessions_;
  VoiceAgent& voice_agent_;
  SpeechRenderer& speech_;
  Executor& executor_;
  const TwilioWebhookOptions options_;
  struct RenderedLine {
    TwimlElement verb;
    absl::Time rendered_at;
  };
  absl::Mutex busy_lines_mu_;
  std::map<std::string, RenderedLine> busy_lines_ ABSL_GUARDED_BY(busy_lines_mu_);
  // Last: destroyed (stopped, waited for) first, while everything their tasks use still lives.
  // The 3 s bound of /twilio/voice on its call's AI session's start.
  DeadlineTimer session_waits_;
  // Session starts (customers' and browsers') whose answer has not been handled yet.
  PendingCalls session_starts_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_SERVICE_H_
