#ifndef LIVECALL_TESTS_FAKES_FAKE_TWILIO_H_
#define LIVECALL_TESTS_FAKES_FAKE_TWILIO_H_

// A fake of Twilio's REST API (2010-04-01) on FakeHttpServer, for unit and integration tests.
//
// Every request is checked against Twilio's official OpenAPI description (data/, cut down from
// twilio/twilio-oai by data/extract_twilio_openapi.py): the path must match a path template and
// its parameters' patterns (a conference friendly name where a CF SID is required fails), the
// method must exist there, the Basic credentials and account must be the configured ones, every
// form field (or query parameter) must be one the operation declares, with the required ones
// present, booleans "true"/"false", integers digits and enums one of their values. A request that
// does not conform is answered 400 with a Twilio error and recorded as a violation, so a test can
// assert that there were none.
//
// It also keeps just enough state to answer like Twilio: calls (CA…), conferences by friendly name
// (CF…), participants with hold/muted. Tests can script errors, 429s and slowness per operation
// ("CreateCall", "UpdateParticipant", … the OpenAPI operationIds). Inline `Twiml` over 4,000
// characters is refused as Twilio does (400, error 32018).
//
// Twilio's side of a call (after SetWebhookTarget): the scenario methods (IncomingCall,
// BrowserCall, Answer, EndCall) and the REST requests that change a call (Status=canceled or
// completed, participant DELETE, conference Status=completed) make the fake send the webhooks
// Twilio sends, form-encoded and signed with X-Twilio-Signature, one at a time in order:
//  - call status callbacks only to the StatusCallback a request configured (none: no callback),
//    for the StatusCallbackEvent values it asked for (default: completed);
//  - conference events (participant-join, participant-leave, conference-start, conference-end
//    with ReasonConferenceEnded and CallSidEndingConference) only to the conference's status
//    callback (a participant's ConferenceStatusCallback, or <Conference statusCallback>), for the
//    events asked for;
//  - the TwiML our /twilio/voice answers is run as far as <Dial><Conference> (the caller joins it
//    with its participantLabel, startConferenceOnEnter and endConferenceOnExit); other TwiML ends
//    the call when it has run.
// A participant with endConferenceOnExit who hangs up ends the conference
// (participant-with-end-conference-on-exit-left), one removed with DELETE too (…-kicked); the
// last one leaving ends it (last-participant-left); Status=completed ends it
// (conference-ended-via-api). Participants still in an ended conference leave and their calls
// complete. Status=canceled does nothing to a call that has been answered (as documented).
// A webhook not answered within Twilio's 15 s, or answered with an HTTP error, is what Twilio
// logs as an application error (11200; the caller hears "an application error has occurred"):
// the fake records it as a violation.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/fakes/fake_http_server.h"

namespace livecall::fakes {

struct TwilioApiRequest {
  std::string operation_id;  // "CreateCall", "UpdateParticipant", ...
  std::string method;
  std::string path;  // Without the query.
  std::map<std::string, std::string> path_params;
  // The form body (POST) or the query (GET), decoded, in order.
  std::vector<std::pair<std::string, std::string>> fields;

  // The first value of `name`, or empty.
  std::string Field(const std::string& name) const;
  std::vector<std::string> Fields(const std::string& name) const;
  bool Has(const std::string& name) const;
};

class FakeTwilio {
 public:
  struct Options {
    std::string account_sid = "AC00000000000000000000000000000000";
    // The Basic credentials accepted (API key SID and secret, or account SID and auth token).
    std::string username = "SK00000000000000000000000000000000";
    std::string password = "fake-api-key-secret";
    // Empty: the copy in tests/fakes/data.
    std::string openapi_path;
    // How long Twilio waits for a webhook's answer.
    absl::Duration webhook_budget = absl::Seconds(15);
  };

  // A webhook the fake sent as Twilio.
  struct Webhook {
    std::string url;  // As configured (LIVECALL_PUBLIC_URL + path).
    std::vector<std::pair<std::string, std::string>> form;
    long status = 0;  // The answer's HTTP status; 0: none in time.
    std::string body;

    std::string Field(const std::string& name) const;
  };

  FakeTwilio();
  explicit FakeTwilio(Options options);
  ~FakeTwilio();

  // Loads the OpenAPI description and starts the server.
  absl::Status Start();
  void Stop();
  std::string base_url() const;

  // The next `times` requests for `operation_id` get this Twilio error instead of an answer.
  void FailNext(const std::string& operation_id, int http_status, int code, std::string message,
                int times = 1);
  // The next `times` requests for `operation_id` are answered only after `delay`.
  void DelayNext(const std::string& operation_id, absl::Duration delay, int times = 1);

  // The requests that conformed to the OpenAPI description, in arrival order (scripted errors
  // included: they were valid requests).
  std::vector<TwilioApiRequest> Requests() const;
  std::vector<TwilioApiRequest> Requests(const std::string& operation_id) const;
  // One line per request that did not conform; empty when every request did.
  std::vector<std::string> Violations() const;
  // Every request received, conforming or not.
  int total_requests() const;

  // Twilio's side of calls. Webhooks configured as `public_url` + path are POSTed to
  // `target_base_url` + path, signed with `auth_token` over the configured URL.
  void SetWebhookTarget(std::string public_url, std::string target_base_url,
                        std::string auth_token);
  // A customer `from` calls our number `to`: Twilio POSTs the number's voice URL
  // (public_url/twilio/voice) and runs the TwiML answered. `status_callback`: the number's status
  // callback URL (empty: none configured, no status callback). Answers the webhook as delivered.
  Webhook IncomingCall(const std::string& call_sid, const std::string& from, const std::string& to,
                       const std::string& status_callback = "");
  // An agent's browser (Voice SDK, TwiML App) calls `to`: like IncomingCall from client:identity.
  Webhook BrowserCall(const std::string& call_sid, const std::string& identity,
                      const std::string& to);
  // A call created over REST (CreateCall, CreateParticipant) rings, and is answered: a participant
  // joins its conference.
  void Ring(const std::string& call_sid);
  void Answer(const std::string& call_sid);
  // Calls answered at the same moment: each joins before the first one's webhooks are answered.
  void Answer(const std::vector<std::string>& call_sids);
  // The calls created over REST to `to` (CreateCall, CreateParticipant), oldest first.
  std::vector<std::string> CallSidsTo(const std::string& to) const;
  // The call ends by itself: "completed" (its party hung up), or before it was answered "busy",
  // "no-answer", "failed", "canceled" (an inbound caller who hangs up while waiting: completed).
  void EndCall(const std::string& call_sid, const std::string& status = "completed");
  // Waits until every webhook queued so far (and those they caused) has been delivered.
  void Flush();
  // The webhooks delivered, in order.
  std::vector<Webhook> Webhooks() const;
  // The call's status as Twilio sees it ("" for a call it does not know).
  std::string CallStatus(const std::string& call_sid) const;
  // The newest conference of that friendly name: "in-progress", "completed" ("" unknown).
  std::string ConferenceStatus(const std::string& friendly_name) const;

 private:
  struct Spec;
  struct Script {
    int http_status = 0;
    int code = 0;
    std::string message;
    absl::Duration delay;
    int times = 0;
  };

  // A call as Twilio tracks it.
  struct Call {
    std::string sid;
    std::string status = "queued";
    std::string from;
    std::string to;
    std::string direction = "outbound-api";
    std::string status_callback;
    std::set<std::string> status_events;  // initiated, ringing, answered, completed
    int callback_sequence = 0;
    // The conference it is dialled into (REST) or joined (TwiML); `joined` once in it.
    std::string conference_name;
    bool joined = false;
    std::string label;
    bool start_conference_on_enter = true;
    bool end_conference_on_exit = false;
    bool hold = false;
    bool muted = false;
  };
  struct Conference {
    std::string sid;
    std::string name;
    // REST reports a conference in-progress from its creation (a participant dialled in) until it
    // ends; its events know whether it has started (a startConferenceOnEnter participant joined).
    std::string status = "in-progress";
    bool started = false;
    std::string status_callback;
    std::set<std::string> events;  // start end join leave hold mute …
    int sequence = 0;
    std::vector<std::string> participants;  // Joined call sids, in order.
  };
  using Form = std::vector<std::pair<std::string, std::string>>;

  FakeResponse Handle(const FakeRequest& request);
  FakeResponse Answer(const TwilioApiRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewSid(const char* prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Conference& ConferenceNamed(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Conference* ConferenceBySid(const std::string& sid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Twilio's side: each queues the webhooks it causes.
  void SendCallStatus(Call& call, const std::string& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendConferenceEvent(Conference& conference, const std::string& event, const Call* call,
                           Form extra = {}) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Join(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `kicked`: removed over REST (DELETE) rather than hung up.
  void Leave(Call& call, bool kicked) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndConference(Conference& conference, const std::string& reason,
                     const std::string& ending_call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends `call` with the terminal `status` (leaving its conference first).
  void Finish(Call& call, const std::string& status, bool kicked = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs TwiML our voice webhook answered on `call_sid`.
  void RunTwiml(const std::string& call_sid, const std::string& twiml) ABSL_LOCKS_EXCLUDED(mu_);
  Webhook VoiceWebhook(Call call) ABSL_LOCKS_EXCLUDED(mu_);
  // Queues a webhook; `then` runs on the delivery thread with its answer.
  void Enqueue(std::string url, Form form, std::function<void(const Webhook&)> then = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Webhook Deliver(const std::string& url, const Form& form) ABSL_LOCKS_EXCLUDED(mu_);
  void DeliveryLoop();

  const Options options_;
  std::unique_ptr<Spec> spec_;
  std::unique_ptr<FakeHttpServer> server_;
  mutable absl::Mutex mu_;
  std::vector<TwilioApiRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> violations_ ABSL_GUARDED_BY(mu_);
  int total_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::vector<Script>> failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<Script>> delays_ ABSL_GUARDED_BY(mu_);
  int next_sid_ ABSL_GUARDED_BY(mu_) = 1;
  // Friendly name -> CF sid.
  std::map<std::string, std::string> conference_by_name_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Call> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Conference> conferences_ ABSL_GUARDED_BY(mu_);  // By CF sid.

  std::string public_url_ ABSL_GUARDED_BY(mu_);
  std::string target_base_url_ ABSL_GUARDED_BY(mu_);
  std::string auth_token_ ABSL_GUARDED_BY(mu_);
  struct Outgoing {
    std::string url;
    Form form;
    std::function<void(const Webhook&)> then;
  };
  std::deque<Outgoing> outgoing_ ABSL_GUARDED_BY(mu_);
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Webhook> delivered_ ABSL_GUARDED_BY(mu_);
  std::thread delivery_thread_;
};

// A test Twilio auth token's X-Twilio-Signature for a form POST (the published algorithm,
// written independently of the gateway's so each checks the other).
std::string TwilioTestSignature(const std::string& auth_token, const std::string& url,
                                const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace livecall::fakes

#endif  // LIVECALL_TESTS_FAKES_FAKE_TWILIO_H_
