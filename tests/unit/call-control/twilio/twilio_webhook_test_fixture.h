#ifndef LIVECALL_TESTS_UNIT_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_TEST_FIXTURE_H_
#define LIVECALL_TESTS_UNIT_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_TEST_FIXTURE_H_

// What the Twilio webhook tests share (one test file per webhook family): a fake ai-session, the
// request builders and the fixture that wires the webhooks and the call-control service to
// FakeTwilio (which checks every request against Twilio's OpenAPI description) and a real Redis.

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/enum_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/call_control_service.h"
#include "services/call-control/twilio/twilio_provider.h"
#include "services/call-control/twilio/twilio_webhook_service.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/xml.h"

namespace livecall::call_control {

inline constexpr char kPublicUrl[] = "https://livecall.example.com";
inline constexpr char kCallerId[] = "+998712000000";
inline constexpr char kAgentLeg[] = "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
inline constexpr char kHoldMusic[] = "https://music.example.com/hold.mp3";

class FakeAiSession final : public AiSessionClient {
 public:
  absl::StatusOr<livecall::v1::Session> StartSession(
      const livecall::v1::StartSessionRequest& request) override {
    // A slow ai-session: answers once the test lets it (or after a long while).
    if (start_gate != nullptr) {
      {
        absl::MutexLock lock(&mu_);
        ++starts_held;
      }
      start_gate->WaitForNotificationWithTimeout(absl::Seconds(30));
    }
    absl::MutexLock lock(&mu_);
    starts.push_back(request);
    if (fail) return absl::UnavailableError("ai-session is down");
    livecall::v1::Session session;
    session.set_session_id(absl::StrCat("S", starts.size()));
    session.set_language("ru");
    session.set_greeting("Здравствуйте, Анна! Чем могу помочь?");
    return session;
  }
  // StartSession on a thread of the fake's own, answering `done` there, as gRPC's callback
  // client answers on a thread of its own.
  void StartSessionAsync(const livecall::v1::StartSessionRequest& request,
                         const std::string& request_id, SessionDone done) override {
    async_starts_.Submit([this, request, done = std::move(done)] { done(StartSession(request)); });
  }
  // Waits for every StartSessionAsync to have answered.
  void DrainAsyncStarts() { async_starts_.Drain(); }
  absl::StatusOr<livecall::v1::AddTurnResponse> AddTurn(
      const livecall::v1::AddTurnRequest& request) override {
    absl::MutexLock lock(&mu_);
    turns.push_back(request);
    return livecall::v1::AddTurnResponse();
  }
  // Answers with the next of `replies` (action "continue" when they run out).
  absl::StatusOr<livecall::v1::CallerReply> ReplyToCaller(
      const livecall::v1::ReplyToCallerRequest& request) override {
    absl::MutexLock lock(&mu_);
    heard.push_back(request);
    if (fail) return absl::UnavailableError("ai-session is down");
    livecall::v1::CallerReply reply;
    reply.set_language("ru");
    if (!replies.empty()) {
      reply = replies.front();
      replies.erase(replies.begin());
    } else {
      reply.set_text("Чем ещё могу помочь?");
      reply.set_action("continue");
    }
    return reply;
  }
  absl::StatusOr<livecall::v1::Session> EndSession(
      const livecall::v1::EndAiSessionRequest& request) override {
    absl::MutexLock lock(&mu_);
    ++end_attempts;
    if (fail_end) return absl::UnavailableError("ai-session is down");
    ends.push_back(request);
    livecall::v1::Session session;
    session.set_session_id(request.session_id());
    session.set_status("ended");
    return session;
  }
  absl::StatusOr<livecall::v1::Session> AssignSession(
      const livecall::v1::AssignSessionRequest& request) override {
    absl::MutexLock lock(&mu_);
    assigns.push_back(request);
    livecall::v1::Session session;
    session.set_session_id(request.session_id());
    session.set_agent_id(request.agent_id());
    return session;
  }
  std::vector<livecall::v1::AssignSessionRequest> Assigns() {
    absl::MutexLock lock(&mu_);
    return assigns;
  }
  std::vector<livecall::v1::AddTurnRequest> Turns() {
    absl::MutexLock lock(&mu_);
    return turns;
  }
  std::vector<livecall::v1::ReplyToCallerRequest> Heard() {
    absl::MutexLock lock(&mu_);
    return heard;
  }
  std::vector<livecall::v1::EndAiSessionRequest> Ends() {
    absl::MutexLock lock(&mu_);
    return ends;
  }
  int EndAttempts() {
    absl::MutexLock lock(&mu_);
    return end_attempts;
  }
  void FailEnd(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_end = fail;
  }
  void AddReply(const std::string& text, const std::string& action, bool unclear = false) {
    absl::MutexLock lock(&mu_);
    livecall::v1::CallerReply reply;
    reply.set_text(text);
    reply.set_action(action);
    reply.set_language("ru");
    reply.set_unclear(unclear);
    replies.push_back(reply);
  }

  size_t StartsAnswered() {
    absl::MutexLock lock(&mu_);
    return starts.size();
  }
  // Starts waiting at start_gate.
  int StartsHeld() {
    absl::MutexLock lock(&mu_);
    return starts_held;
  }

  absl::Mutex mu_;
  bool fail = false;
  absl::Notification* start_gate = nullptr;
  int starts_held = 0;
  bool fail_end = false;
  int end_attempts = 0;
  std::vector<livecall::v1::StartSessionRequest> starts;
  std::vector<livecall::v1::AddTurnRequest> turns;
  std::vector<livecall::v1::ReplyToCallerRequest> heard;
  std::vector<livecall::v1::EndAiSessionRequest> ends;
  std::vector<livecall::v1::AssignSessionRequest> assigns;
  std::vector<livecall::v1::CallerReply> replies;
  // Last: drained first, while what its tasks use still lives. Threads enough for every test's
  // starts held at once.
  Executor async_starts_{4};
};

inline Params MakeParams(std::initializer_list<std::pair<const std::string, std::string>> fields) {
  Params params;
  for (const auto& [key, value] : fields) params[key] = value;
  return params;
}

// A /twilio/gather request's query parameters (the action URL's).
inline Params Query(std::initializer_list<std::pair<const std::string, std::string>> fields) {
  return MakeParams(fields);
}

// The statuses a call went through, in order.
inline std::vector<std::string> Statuses(const livecall::v1::Call& call) {
  std::vector<std::string> statuses;
  for (const livecall::v1::CallEvent& event : call.history()) {
    statuses.push_back(EnumJsonName(event.status()));
  }
  return statuses;
}

// Call-control as it runs against Twilio: the webhooks and the call-control service through the
// real TwilioProvider and TwilioClient, talking HTTP to FakeTwilio, with a real Redis and a fake
// ai-session. Each test file of this folder derives its own fixture from it.
class TwilioWebhookTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    store_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
    ASSERT_THAT(twilio_.Start(), ::livecall::testing::IsOk());
    client_ = std::make_unique<TwilioClient>(
        http_, TwilioClientOptions{.base_url = twilio_.base_url(),
                                   .account_sid = "AC00000000000000000000000000000000",
                                   .username = "SK00000000000000000000000000000000",
                                   .password = "fake-api-key-secret",
                                   .max_retries = 1,
                                   .initial_backoff = absl::Milliseconds(1)});
    provider_ = std::make_unique<TwilioProvider>(
        *client_, *store_, speech_,
        TwilioProviderOptions{.public_url = kPublicUrl, .hold_music_url = kHoldMusic});
    sessions_ = std::make_unique<CallSessions>(*store_, ai_, executor_);
    webhooks_ = std::make_unique<TwilioWebhookService>(
        provider_.get(), *store_, *sessions_, voice_agent_, speech_, executor_, NewUnary(),
        TwilioWebhookOptions{.public_url = kPublicUrl, .caller_id = kCallerId});
    service_ = std::make_unique<CallControlService>(
        *provider_, *store_, NewUnary(), kCallerId,
        CallControlOptions{.voice_token = {.account_sid = "AC00000000000000000000000000000000",
                                           .api_key_sid = "SK00000000000000000000000000000000",
                                           .api_key_secret = "fake-api-key-secret",
                                           .twiml_app_sid = "AP00000000000000000000000000000000"}},
        sessions_.get());
  }

  void TearDown() override {
    // Background work (AI sessions started after answering, legs stopped after a call ends)
    // finishes while the objects it uses still exist.
    ai_.DrainAsyncStarts();
    executor_.Drain();
    EXPECT_THAT(twilio_.Violations(), ::testing::IsEmpty());
  }

  // An agent's browser calls the customer; answers the customer's leg sid.
  std::string AgentCalls(std::string* twiml = nullptr) {
    absl::StatusOr<std::string> answer =
        webhooks_->HandleVoice(MakeParams({{"CallSid", kAgentLeg},
                                           {"From", "client:agent_2Dalice"},
                                           {"To", "+998 90 111 22 33"},
                                           {"CallStatus", "ringing"},
                                           {"Direction", "inbound"}}));
    EXPECT_THAT(answer.status(), ::livecall::testing::IsOk());
    if (twiml != nullptr && answer.ok()) *twiml = *answer;
    absl::StatusOr<livecall::v1::Call> call = store_->GetByAnyLeg(kAgentLeg);
    EXPECT_THAT(call.status(), ::livecall::testing::IsOk());
    return call.ok() ? call->call_sid() : "";
  }

  // A set of queued methods for one service the test calls directly (never served): each service
  // takes its methods into a set of its own.
  QueuedUnaryMethods& NewUnary() {
    return *unaries_.emplace_back(std::make_unique<QueuedUnaryMethods>(QueuedUnaryOptions{}));
  }

  // A webhook service like webhooks_, with an outbound-call policy.
  std::unique_ptr<TwilioWebhookService> WebhooksWith(OutboundCallLimit& limit) {
    return std::make_unique<TwilioWebhookService>(
        provider_.get(), *store_, *sessions_, voice_agent_, speech_, executor_, NewUnary(),
        TwilioWebhookOptions{
            .public_url = kPublicUrl, .caller_id = kCallerId, .outbound_limit = &limit});
  }

  // The browser agent `identity` calls `to` from its leg `leg` through `webhooks`; answers the
  // TwiML, parsed.
  static ::livecall::testing::XmlNode BrowserCall(TwilioWebhookService& webhooks,
                                                  const std::string& leg,
                                                  const std::string& identity,
                                                  const std::string& to,
                                                  const std::string& language) {
    absl::StatusOr<std::string> twiml = webhooks.HandleVoice(MakeParams(
        {{"CallSid", leg}, {"From", "client:" + identity}, {"To", to}, {"Language", language}}));
    EXPECT_THAT(twiml.status(), ::livecall::testing::IsOk());
    absl::StatusOr<::livecall::testing::XmlNode> parsed =
        twiml.ok() ? ::livecall::testing::ParseXml(*twiml) : twiml.status();
    EXPECT_THAT(parsed.status(), ::livecall::testing::IsOk());
    return parsed.ok() ? *parsed : ::livecall::testing::XmlNode();
  }

  absl::Status Status(const std::string& sid, const std::string& status, int sequence) {
    return webhooks_->HandleCallStatus(
        MakeParams({{"CallSid", sid},
                    {"CallStatus", status},
                    {"SequenceNumber", absl::StrCat(sequence)},
                    {"Timestamp", "Tue, 31 Aug 2027 20:36:28 +0000"}}));
  }

  std::unique_ptr<CallStore> store_;
  ::livecall::fakes::FakeTwilio twilio_;
  CurlHttpClient http_;
  std::unique_ptr<TwilioClient> client_;
  SayRenderer speech_;
  std::unique_ptr<TwilioProvider> provider_;
  FakeAiSession ai_;
  Executor executor_{2};
  std::vector<std::unique_ptr<QueuedUnaryMethods>> unaries_;
  std::unique_ptr<CallSessions> sessions_;
  VoiceAgent voice_agent_{ai_};
  std::unique_ptr<TwilioWebhookService> webhooks_;
  std::unique_ptr<CallControlService> service_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_TESTS_UNIT_CALL_CONTROL_TWILIO_TWILIO_WEBHOOK_TEST_FIXTURE_H_
