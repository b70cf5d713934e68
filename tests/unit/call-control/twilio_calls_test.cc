// Call-control against Twilio: the webhooks, call control and configureTTS through the real
// TwilioProvider and TwilioClient, talking HTTP to FakeTwilio (which checks every request against
// Twilio's OpenAPI description), with a real Redis and a fake ai-session.

#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/enum_json.h"
#include "common/jwt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/call_control_service.h"
#include "services/call-control/sandbox_provider.h"
#include "services/call-control/twilio_provider.h"
#include "services/call-control/twilio_webhook_service.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"
#include "tests/support/xml.h"

namespace livecall::call_control {
namespace {

using ::livecall::fakes::FakeTwilio;
using ::livecall::fakes::TwilioApiRequest;
using ::livecall::testing::IsOk;
using ::livecall::testing::ParseXml;
using ::livecall::testing::StatusIs;
using ::livecall::testing::WaitFor;
using ::livecall::testing::XmlNode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kPublicUrl[] = "https://livecall.example.com";
constexpr char kCallerId[] = "+998712000000";
constexpr char kAgentLeg[] = "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kHoldMusic[] = "https://music.example.com/hold.mp3";

class FakeAiSession final : public AiSessionClient {
 public:
  absl::StatusOr<livecall::v1::Session> StartSession(
      const livecall::v1::StartSessionRequest& request) override {
    // A slow ai-session: answers once the test lets it (or after a long while).
    if (start_gate != nullptr) start_gate->WaitForNotificationWithTimeout(absl::Seconds(30));
    absl::MutexLock lock(&mu_);
    starts.push_back(request);
    if (fail) return absl::UnavailableError("ai-session is down");
    livecall::v1::Session session;
    session.set_session_id(absl::StrCat("S", starts.size()));
    session.set_language("ru");
    session.set_greeting("Здравствуйте, Анна! Чем могу помочь?");
    return session;
  }
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

  absl::Mutex mu_;
  bool fail = false;
  absl::Notification* start_gate = nullptr;
  bool fail_end = false;
  int end_attempts = 0;
  std::vector<livecall::v1::StartSessionRequest> starts;
  std::vector<livecall::v1::AddTurnRequest> turns;
  std::vector<livecall::v1::ReplyToCallerRequest> heard;
  std::vector<livecall::v1::EndAiSessionRequest> ends;
  std::vector<livecall::v1::AssignSessionRequest> assigns;
  std::vector<livecall::v1::CallerReply> replies;
};

Params MakeParams(std::initializer_list<std::pair<const std::string, std::string>> fields) {
  Params params;
  for (const auto& [key, value] : fields) params[key] = value;
  return params;
}

std::vector<std::string> Statuses(const livecall::v1::Call& call) {
  std::vector<std::string> statuses;
  for (const livecall::v1::CallEvent& event : call.history()) {
    statuses.push_back(EnumJsonName(event.status()));
  }
  return statuses;
}

class TwilioCallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(redis_server_.Start(), IsOk());
    RedisPool::Options options;
    options.url = *ParseRedisUrl(redis_server_.url());
    redis_ = std::make_unique<RedisPool>(options);
    store_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
    ASSERT_THAT(twilio_.Start(), IsOk());
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
        provider_.get(), *store_, *sessions_, voice_agent_, speech_, executor_,
        TwilioWebhookOptions{.public_url = kPublicUrl, .caller_id = kCallerId});
    service_ = std::make_unique<CallControlService>(
        *provider_, *store_, executor_, kCallerId,
        CallControlOptions{.voice_token = {.account_sid = "AC00000000000000000000000000000000",
                                           .api_key_sid = "SK00000000000000000000000000000000",
                                           .api_key_secret = "fake-api-key-secret",
                                           .twiml_app_sid = "AP00000000000000000000000000000000"}},
        sessions_.get());
  }

  void TearDown() override {
    // Background work (AI sessions started after answering, legs stopped after a call ends)
    // finishes while the objects it uses still exist.
    executor_.Drain();
    EXPECT_THAT(twilio_.Violations(), IsEmpty());
  }

  // An agent's browser calls the customer; answers the customer's leg sid.
  std::string AgentCalls(std::string* twiml = nullptr) {
    absl::StatusOr<std::string> answer =
        webhooks_->HandleVoice(MakeParams({{"CallSid", kAgentLeg},
                                           {"From", "client:agent_2Dalice"},
                                           {"To", "+998 90 111 22 33"},
                                           {"CallStatus", "ringing"},
                                           {"Direction", "inbound"}}));
    EXPECT_THAT(answer.status(), IsOk());
    if (twiml != nullptr && answer.ok()) *twiml = *answer;
    absl::StatusOr<livecall::v1::Call> call = store_->GetByAnyLeg(kAgentLeg);
    EXPECT_THAT(call.status(), IsOk());
    return call.ok() ? call->call_sid() : "";
  }

  // A webhook service like webhooks_, with an outbound-call policy.
  std::unique_ptr<TwilioWebhookService> WebhooksWith(OutboundCallLimit& limit) {
    return std::make_unique<TwilioWebhookService>(
        provider_.get(), *store_, *sessions_, voice_agent_, speech_, executor_,
        TwilioWebhookOptions{
            .public_url = kPublicUrl, .caller_id = kCallerId, .outbound_limit = &limit});
  }

  // The browser agent `identity` calls `to` from its leg `leg` through `webhooks`; answers the
  // TwiML, parsed.
  static XmlNode BrowserCall(TwilioWebhookService& webhooks, const std::string& leg,
                             const std::string& identity, const std::string& to,
                             const std::string& language) {
    absl::StatusOr<std::string> twiml = webhooks.HandleVoice(MakeParams(
        {{"CallSid", leg}, {"From", "client:" + identity}, {"To", to}, {"Language", language}}));
    EXPECT_THAT(twiml.status(), IsOk());
    absl::StatusOr<XmlNode> parsed = twiml.ok() ? ParseXml(*twiml) : twiml.status();
    EXPECT_THAT(parsed.status(), IsOk());
    return parsed.ok() ? *parsed : XmlNode();
  }

  absl::Status Status(const std::string& sid, const std::string& status, int sequence) {
    return webhooks_->HandleCallStatus(
        MakeParams({{"CallSid", sid},
                    {"CallStatus", status},
                    {"SequenceNumber", absl::StrCat(sequence)},
                    {"Timestamp", "Tue, 31 Aug 2027 20:36:28 +0000"}}));
  }

  livecall::testing::RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<CallStore> store_;
  FakeTwilio twilio_;
  CurlHttpClient http_;
  std::unique_ptr<TwilioClient> client_;
  SayRenderer speech_;
  std::unique_ptr<TwilioProvider> provider_;
  FakeAiSession ai_;
  Executor executor_{2};
  std::unique_ptr<CallSessions> sessions_;
  VoiceAgent voice_agent_{ai_};
  std::unique_ptr<TwilioWebhookService> webhooks_;
  std::unique_ptr<CallControlService> service_;
};

TEST_F(TwilioCallsTest, AgentCallJoinsAConferenceAndDialsTheCustomerIntoIt) {
  std::string twiml;
  const std::string customer = AgentCalls(&twiml);

  absl::StatusOr<XmlNode> response = ParseXml(twiml);
  ASSERT_THAT(response.status(), IsOk()) << twiml;
  EXPECT_EQ(response->name, "Response");
  ASSERT_THAT(response->ChildNames(), ElementsAre("Start", "Dial"));
  const XmlNode* transcription = response->children[0].Child("Transcription");
  ASSERT_NE(transcription, nullptr);
  EXPECT_EQ(transcription->Attr("statusCallbackUrl"),
            "https://livecall.example.com/twilio/transcription");
  EXPECT_EQ(transcription->Attr("track"), "both_tracks");
  EXPECT_EQ(transcription->Attr("languageCode"), "ru-RU");  // The session's language.
  EXPECT_EQ(transcription->Attr("inboundTrackLabel"), "agent");
  const XmlNode& dial = response->children[1];
  EXPECT_EQ(dial.Attr("callerId"), kCallerId);
  const XmlNode* conference = dial.Child("Conference");
  ASSERT_NE(conference, nullptr);
  EXPECT_EQ(conference->text, absl::StrCat("call-", kAgentLeg));
  EXPECT_EQ(conference->Attr("endConferenceOnExit"), "true");
  EXPECT_EQ(conference->Attr("beep"), "false");
  EXPECT_EQ(conference->Attr("statusCallback"), "https://livecall.example.com/twilio/conference");

  std::vector<TwilioApiRequest> dialled = twilio_.Requests("CreateParticipant");
  ASSERT_THAT(dialled, SizeIs(1));
  EXPECT_EQ(dialled[0].path_params.at("ConferenceSid"), absl::StrCat("call-", kAgentLeg));
  EXPECT_EQ(dialled[0].Field("To"), "+998901112233");
  EXPECT_EQ(dialled[0].Field("From"), kCallerId);
  EXPECT_EQ(dialled[0].Field("Label"), "customer");
  EXPECT_EQ(dialled[0].Field("EndConferenceOnExit"), "true");
  EXPECT_EQ(dialled[0].Field("StatusCallback"), "https://livecall.example.com/twilio/status");
  EXPECT_THAT(dialled[0].Fields("StatusCallbackEvent"),
              ElementsAre("initiated", "ringing", "answered", "completed"));

  ASSERT_THAT(ai_.starts, SizeIs(1));
  EXPECT_EQ(ai_.starts[0].phone_number(), "+998901112233");
  EXPECT_EQ(ai_.starts[0].call_sid(), customer);
  EXPECT_EQ(ai_.starts[0].direction(), "outbound");
  EXPECT_EQ(ai_.starts[0].agent_id(), "agent-alice");

  // Either leg's sid names the call.
  absl::StatusOr<livecall::v1::Call> by_agent = store_->GetByAnyLeg(kAgentLeg);
  absl::StatusOr<livecall::v1::Call> by_customer = store_->GetByAnyLeg(customer);
  ASSERT_THAT(by_agent.status(), IsOk());
  ASSERT_THAT(by_customer.status(), IsOk());
  EXPECT_EQ(by_agent->call_sid(), customer);
  EXPECT_EQ(by_customer->agent_call_sid(), kAgentLeg);
  EXPECT_EQ(by_customer->session_id(), "S1");
  EXPECT_EQ(by_customer->status(), livecall::v1::CALL_STATUS_QUEUED);
  EXPECT_FALSE(by_customer->conference_sid().empty());
}

TEST_F(TwilioCallsTest, ARetriedVoiceWebhookDialsOnce) {
  std::string first;
  std::string second;
  AgentCalls(&first);
  AgentCalls(&second);
  EXPECT_EQ(first, second);
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(1));
  EXPECT_THAT(ai_.starts, SizeIs(1));
}

TEST_F(TwilioCallsTest, InvalidNumberIsToldNotDialled) {
  absl::StatusOr<std::string> twiml = webhooks_->HandleVoice(
      MakeParams({{"CallSid", kAgentLeg}, {"From", "client:agent_2Dalice"}, {"To", "<Dial>12"}}));
  ASSERT_THAT(twiml.status(), IsOk());
  absl::StatusOr<XmlNode> response = ParseXml(*twiml);
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_THAT(response->ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(twilio_.total_requests(), 0);
}

TEST_F(TwilioCallsTest, TheCallGoesOnWhenAiSessionFails) {
  ai_.fail = true;
  std::string twiml;
  const std::string customer = AgentCalls(&twiml);
  absl::StatusOr<XmlNode> response = ParseXml(twiml);
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_THAT(response->ChildNames(), ElementsAre("Start", "Dial"));
  EXPECT_EQ(store_->Get(customer)->session_id(), "");
}

TEST_F(TwilioCallsTest, HoldResumeMuteDtmfAndHangupReachTheCustomersParticipant) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(Status(customer, "in-progress", 2), IsOk());
  const std::string conference = store_->Get(customer)->conference_sid();

  absl::StatusOr<livecall::v1::Call> call = service_->Act(kAgentLeg, CallAction::kHold);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_TRUE(call->on_hold());
  ASSERT_THAT(service_->Act(customer, CallAction::kResume).status(), IsOk());
  ASSERT_THAT(service_->Act(kAgentLeg, CallAction::kMute).status(), IsOk());
  call = service_->Act(kAgentLeg, CallAction::kUnmute);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_FALSE(call->on_hold());
  EXPECT_FALSE(call->muted());
  call = service_->Act(kAgentLeg, CallAction::kSendDigits, "12#");
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->digits_sent(), "12#");

  std::vector<TwilioApiRequest> updates = twilio_.Requests("UpdateParticipant");
  ASSERT_THAT(updates, SizeIs(5));
  for (const TwilioApiRequest& update : updates) {
    EXPECT_EQ(update.path_params.at("ConferenceSid"), conference);
    EXPECT_EQ(update.path_params.at("CallSid"), customer);
  }
  EXPECT_EQ(updates[0].Field("Hold"), "true");
  EXPECT_EQ(updates[0].Field("HoldUrl"), kHoldMusic);
  EXPECT_EQ(updates[1].Field("Hold"), "false");
  EXPECT_EQ(updates[2].Field("Muted"), "true");
  EXPECT_EQ(updates[3].Field("Muted"), "false");
  EXPECT_EQ(updates[4].Field("AnnounceUrl"),
            "https://livecall.example.com/twilio/dtmf?digits=12%23");
  absl::StatusOr<std::string> play = webhooks_->HandleDtmf(MakeParams({{"digits", "12#"}}));
  ASSERT_THAT(play.status(), IsOk());
  EXPECT_EQ(ParseXml(*play)->Child("Play")->Attr("digits"), "12#");

  call = service_->Act(kAgentLeg, CallAction::kHangup);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->status(), livecall::v1::CALL_STATUS_COMPLETED);
  std::vector<TwilioApiRequest> ended = twilio_.Requests("UpdateConference");
  ASSERT_THAT(ended, SizeIs(1));
  EXPECT_EQ(ended[0].path_params.at("Sid"), conference);
  EXPECT_EQ(ended[0].Field("Status"), "completed");
  // Twilio's own "completed" callback changes nothing more.
  ASSERT_THAT(Status(customer, "completed", 3), IsOk());
  EXPECT_THAT(Statuses(*store_->Get(customer)), ElementsAre("queued", "in-progress", "completed"));
}

TEST_F(TwilioCallsTest, ControlOfACallThatIsNotInProgressIsAConflict) {
  const std::string customer = AgentCalls();
  EXPECT_THAT(service_->Act(kAgentLeg, CallAction::kHold).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("queued")));
  ASSERT_THAT(Status(customer, "completed", 4), IsOk());
  EXPECT_THAT(service_->Act(customer, CallAction::kHangup).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("completed")));
  EXPECT_THAT(service_->Act(customer, CallAction::kSendDigits, "x").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->Act("CAffffffffffffffffffffffffffffffff", CallAction::kHold).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(twilio_.Requests("UpdateParticipant"), IsEmpty());
  EXPECT_THAT(twilio_.Requests("UpdateConference"), IsEmpty());
}

TEST_F(TwilioCallsTest, TwilioErrorsOnControlSurfaceWithTheirCode) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(Status(customer, "in-progress", 2), IsOk());
  twilio_.FailNext("UpdateParticipant", 429, 20429, "Too Many Requests", /*times=*/5);
  EXPECT_THAT(service_->Act(customer, CallAction::kHold).status(),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("20429")));
  EXPECT_FALSE(store_->Get(customer)->on_hold());
}

TEST_F(TwilioCallsTest, DuplicateAndOutOfOrderStatusCallbacksLeaveTheRightState) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(Status(customer, "initiated", 0), IsOk());
  ASSERT_THAT(Status(customer, "in-progress", 2), IsOk());
  ASSERT_THAT(Status(customer, "ringing", 1), IsOk());      // Late.
  ASSERT_THAT(Status(customer, "in-progress", 2), IsOk());  // Retried.
  ASSERT_THAT(Status(customer, "completed", 3), IsOk());
  ASSERT_THAT(Status(customer, "in-progress", 2), IsOk());  // Late retry.
  ASSERT_THAT(Status(customer, "busy", 3), IsOk());
  absl::StatusOr<livecall::v1::Call> call = store_->Get(customer);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->status(), livecall::v1::CALL_STATUS_COMPLETED);
  EXPECT_THAT(Statuses(*call), ElementsAre("queued", "in-progress", "completed"));
  // The agent's own leg does not drive the call.
  ASSERT_THAT(Status(kAgentLeg, "completed", 5), IsOk());
  EXPECT_THAT(Statuses(*store_->Get(customer)), SizeIs(3));
  // Unknown calls are acknowledged, malformed callbacks refused.
  EXPECT_THAT(Status("CAffffffffffffffffffffffffffffffff", "ringing", 1), IsOk());
  EXPECT_THAT(Status(customer, "exploded", 9), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TwilioCallsTest, ConferenceEventsTrackHoldInTwiliosOrder) {
  const std::string customer = AgentCalls();
  const std::string conference = store_->Get(customer)->conference_sid();
  auto event = [&](const std::string& name, int sequence) {
    return webhooks_->HandleConferenceStatus(
        MakeParams({{"FriendlyName", absl::StrCat("call-", kAgentLeg)},
                    {"ConferenceSid", conference},
                    {"StatusCallbackEvent", name},
                    {"CallSid", customer},
                    {"SequenceNumber", absl::StrCat(sequence)}}));
  };
  ASSERT_THAT(event("participant-join", 1), IsOk());
  EXPECT_EQ(store_->Get(customer)->status(), livecall::v1::CALL_STATUS_IN_PROGRESS);
  ASSERT_THAT(event("participant-unhold", 4), IsOk());
  ASSERT_THAT(event("participant-hold", 3), IsOk());  // Older than the unhold: ignored.
  EXPECT_FALSE(store_->Get(customer)->on_hold());
  ASSERT_THAT(event("participant-mute", 5), IsOk());
  EXPECT_TRUE(store_->Get(customer)->muted());
}

TEST_F(TwilioCallsTest, FinalTranscriptsBecomeTurnsOfTheRightSpeaker) {
  const std::string customer = AgentCalls();
  auto transcript = [&](const std::string& track, const std::string& text, const std::string& final,
                        int sequence) {
    return webhooks_->HandleTranscription(
        MakeParams({{"TranscriptionEvent", "transcription-content"},
                    {"CallSid", kAgentLeg},
                    {"TranscriptionSid", "GT00000000000000000000000000000001"},
                    {"SequenceId", absl::StrCat(sequence)},
                    {"Track", track},
                    {"Final", final},
                    {"TranscriptionData",
                     absl::StrCat("{\"transcript\":\"", text, "\",\"confidence\":0.9}")}}));
  };
  // The TwiML ran on the agent's leg: its inbound track is the agent.
  ASSERT_THAT(transcript("outbound_track", "Salom, internetim ishlamayapti", "true", 2), IsOk());
  ASSERT_THAT(transcript("inbound_track", "Assalomu alaykum", "true", 3), IsOk());
  ASSERT_THAT(transcript("inbound_track", "Assalo", "false", 4), IsOk());           // Partial.
  ASSERT_THAT(transcript("inbound_track", "Assalomu alaykum", "true", 3), IsOk());  // Retried.
  std::vector<livecall::v1::AddTurnRequest> turns = ai_.Turns();
  ASSERT_THAT(turns, SizeIs(2));
  EXPECT_EQ(turns[0].session_id(), "S1");
  EXPECT_EQ(turns[0].speaker(), "customer");
  EXPECT_EQ(turns[0].text(), "Salom, internetim ishlamayapti");
  EXPECT_EQ(turns[1].speaker(), "agent");
  EXPECT_THAT(
      webhooks_->HandleTranscription(MakeParams({{"TranscriptionEvent", "transcription-error"},
                                                 {"CallSid", customer},
                                                 {"TranscriptionErrorCode", "32651"}})),
      IsOk());
}

TEST_F(TwilioCallsTest, InboundCallRingsTheAvailableAgentsIntoItsConference) {
  ASSERT_THAT(service_->MintToken("alice", {}).status(), IsOk());
  ASSERT_THAT(service_->MintToken("bob", {}).status(), IsOk());
  const std::string customer = "CAcccccccccccccccccccccccccccccccc";
  absl::StatusOr<std::string> twiml =
      webhooks_->HandleVoice(MakeParams({{"CallSid", customer},
                                         {"From", "+998901112233"},
                                         {"To", kCallerId},
                                         {"CallStatus", "ringing"}}));
  ASSERT_THAT(twiml.status(), IsOk());
  absl::StatusOr<XmlNode> response = ParseXml(*twiml);
  ASSERT_THAT(response.status(), IsOk());
  ASSERT_THAT(response->ChildNames(), ElementsAre("Start", "Dial"));
  EXPECT_EQ(response->children[0].Child("Transcription")->Attr("inboundTrackLabel"), "customer");
  const XmlNode* conference = response->children[1].Child("Conference");
  ASSERT_NE(conference, nullptr);
  EXPECT_EQ(conference->text, absl::StrCat("call-", customer));
  EXPECT_EQ(conference->Attr("startConferenceOnEnter"), "false");
  ASSERT_THAT(ai_.starts, SizeIs(1));
  EXPECT_EQ(ai_.starts[0].direction(), "inbound");
  EXPECT_EQ(ai_.starts[0].phone_number(), "+998901112233");

  ASSERT_TRUE(WaitFor([&] { return twilio_.Requests("CreateParticipant").size() == 2; },
                      absl::Seconds(10)));
  std::vector<TwilioApiRequest> rung = twilio_.Requests("CreateParticipant");
  std::set<std::string> destinations = {rung[0].Field("To"), rung[1].Field("To")};
  EXPECT_EQ(destinations, (std::set<std::string>{"client:alice", "client:bob"}));
  // Rung agents do not end the conference when they leave (a late one is removed).
  EXPECT_EQ(rung[0].Field("EndConferenceOnExit"), "false");
  EXPECT_EQ(rung[1].Field("EndConferenceOnExit"), "false");
  std::vector<std::string> legs;
  ASSERT_TRUE(WaitFor([&] { return store_->AgentLegs(customer)->size() == 2; }, absl::Seconds(10)));
  legs = *store_->AgentLegs(customer);

  // The first agent to answer takes the call; the other stops ringing.
  ASSERT_THAT(webhooks_->HandleConferenceStatus(
                  MakeParams({{"FriendlyName", absl::StrCat("call-", customer)},
                              {"ConferenceSid", "CF00000000000000000000000000000009"},
                              {"StatusCallbackEvent", "participant-join"},
                              {"CallSid", legs[0]},
                              {"ParticipantLabel", "agent-alice"},
                              {"SequenceNumber", "2"}})),
              IsOk());
  absl::StatusOr<livecall::v1::Call> call = store_->GetByAnyLeg(legs[0]);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->call_sid(), customer);
  EXPECT_EQ(call->agent_call_sid(), legs[0]);
  EXPECT_EQ(call->agent_identity(), "alice");
  ASSERT_TRUE(
      WaitFor([&] { return twilio_.Requests("UpdateCall").size() == 1; }, absl::Seconds(10)));
  std::vector<TwilioApiRequest> canceled = twilio_.Requests("UpdateCall");
  EXPECT_EQ(canceled[0].path_params.at("Sid"), legs[1]);
  EXPECT_EQ(canceled[0].Field("Status"), "canceled");
  // The agent who answered ends the conference on leaving, as a browser caller's leg does.
  ASSERT_TRUE(WaitFor([&] { return twilio_.Requests("UpdateParticipant").size() == 1; },
                      absl::Seconds(10)));
  const TwilioApiRequest kept = twilio_.Requests("UpdateParticipant")[0];
  EXPECT_EQ(kept.path_params.at("CallSid"), legs[0]);
  EXPECT_EQ(kept.Field("EndConferenceOnExit"), "true");
  // The call's AI session started with no owner; now it is the answering agent's.
  std::vector<livecall::v1::AssignSessionRequest> assigns = ai_.Assigns();
  ASSERT_THAT(assigns, SizeIs(1));
  EXPECT_EQ(assigns[0].session_id(), call->session_id());
  EXPECT_EQ(assigns[0].agent_id(), "alice");
}

// A browser call dials a customer like PlaceCall does, so it takes a slot of the same global cap;
// at the cap the agent hears that the lines are busy and nobody is dialled.
TEST_F(TwilioCallsTest, BrowserCallsCountAgainstTheOutboundCapAndFreeTheirSlotWhenTheyEnd) {
  OutboundCallLimit limit(*redis_, *store_, {.max_active = 1, .allowed_prefixes = {"+998"}});
  std::unique_ptr<TwilioWebhookService> webhooks = WebhooksWith(limit);
  auto browser_call = [&](const std::string& leg, const std::string& language) {
    return BrowserCall(*webhooks, leg, "agent_2Dalice", "+998901112233", language);
  };
  EXPECT_THAT(browser_call(kAgentLeg, "").ChildNames(), ElementsAre("Start", "Dial"));
  const size_t dialled = twilio_.Requests("CreateParticipant").size();
  ASSERT_EQ(dialled, 1u);

  for (const auto& [leg, language, line] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1", "ru", "Сейчас все исходящие линии заняты"},
           {"CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2", "", "All outgoing lines are busy"},
           {"CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb3", "uz", "barcha chiquvchi liniyalar band"},
           {"CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb5", "ru-RU", "Сейчас все исходящие линии заняты"}}) {
    SCOPED_TRACE(language);
    XmlNode twiml = browser_call(leg, language);
    ASSERT_THAT(twiml.ChildNames(), ElementsAre("Say", "Hangup"));
    EXPECT_THAT(twiml.children[0].text, HasSubstr(line));
    EXPECT_THAT(store_->GetByAnyLeg(leg), StatusIs(absl::StatusCode::kNotFound));
  }
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(dialled));

  // The first call ends: its slot is free for the next one.
  absl::StatusOr<livecall::v1::Call> call = store_->GetByAnyLeg(kAgentLeg);
  ASSERT_THAT(call.status(), IsOk());
  ASSERT_THAT(Status(call->call_sid(), "completed", 3), IsOk());
  EXPECT_THAT(browser_call("CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb4", "").ChildNames(),
              ElementsAre("Start", "Dial"));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(dialled + 1));
}

// Outbound numbers are limited to the allowed prefixes, and each agent to its quota of concurrent
// calls: a refused browser call dials nobody, and the agent hears why in its language.
TEST_F(TwilioCallsTest, BrowserCallsReachOnlyAllowedNumbersWithinTheAgentsQuota) {
  OutboundCallLimit limit(*redis_, *store_,
                          {.max_active = 10, .max_per_agent = 1, .allowed_prefixes = {"+998"}});
  std::unique_ptr<TwilioWebhookService> webhooks = WebhooksWith(limit);
  const std::string abroad_leg = "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1";
  XmlNode abroad = BrowserCall(*webhooks, abroad_leg, "alice", "+1 415 555 0100", "ru");
  ASSERT_THAT(abroad.ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(abroad.children[0].text, "Звонки на этот номер не разрешены.");
  EXPECT_THAT(store_->GetByAnyLeg(abroad_leg), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), IsEmpty());

  const std::string alices_leg = "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2";
  EXPECT_THAT(BrowserCall(*webhooks, alices_leg, "alice", "+998901112233", "uz").ChildNames(),
              ElementsAre("Start", "Dial"));
  XmlNode second = BrowserCall(*webhooks, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb3", "alice",
                               "+998935550101", "uz");
  ASSERT_THAT(second.ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(second.children[0].text, OutboundRefusalLine(OutboundRefusal::kAgentQuota, "uz"));
  // Another agent has a quota of its own.
  EXPECT_THAT(BrowserCall(*webhooks, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb4", "bob", "+998935550101",
                          "en")
                  .ChildNames(),
              ElementsAre("Start", "Dial"));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(2));

  // Alice's call ends: her slot is free again.
  ASSERT_THAT(Status(store_->GetByAnyLeg(alices_leg)->call_sid(), "completed", 3), IsOk());
  EXPECT_THAT(BrowserCall(*webhooks, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb5", "alice",
                          "+998935550101", "uz")
                  .ChildNames(),
              ElementsAre("Start", "Dial"));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(3));
}

TEST_F(TwilioCallsTest, PlaceCallRefusesNumbersAbroadAndAgentsOverTheirQuota) {
  OutboundCallLimit limit(*redis_, *store_,
                          {.max_active = 10, .max_per_agent = 1, .allowed_prefixes = {"+998"}});
  CallControlService service(*provider_, *store_, executor_, kCallerId,
                             CallControlOptions{.outbound_limit = &limit}, sessions_.get());
  livecall::v1::PlaceCallRequest request;
  request.set_to("+14155550100");
  request.set_text("Salom");
  EXPECT_THAT(service.Place(request).status(),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("LIVECALL_ALLOWED_DIAL_PREFIXES")));
  EXPECT_THAT(twilio_.Requests("CreateCall"), IsEmpty());

  request.set_to("+998901112233");
  const CallerIdentity alice{.agent_id = "alice", .role = kRoleAgent};
  ASSERT_THAT(service.Place(request, alice).status(), IsOk());
  EXPECT_THAT(service.Place(request, alice).status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("LIVECALL_MAX_CALLS_PER_AGENT")));
  EXPECT_THAT(service.Place(request, {.agent_id = "bob", .role = kRoleAgent}).status(), IsOk());
  // A supervisor's or a service's calls count against the global cap only.
  const CallerIdentity boss{.agent_id = "boss", .role = kRoleSupervisor};
  EXPECT_THAT(service.Place(request, boss).status(), IsOk());
  EXPECT_THAT(service.Place(request, boss).status(), IsOk());
  EXPECT_THAT(service.Place(request).status(), IsOk());
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(5));
}

// A signed /twilio/voice replayed after the dedup window (Twilio's own retries come within
// seconds) dials nobody, rings nobody and leaves the call as it is.
TEST_F(TwilioCallsTest, AVoiceWebhookReplayedAfterTheDedupWindowDialsNobody) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(redis_->Command({"DEL", absl::StrCat("livecall:idem:voice:", kAgentLeg)}).status(),
              IsOk());  // The window has passed.
  absl::StatusOr<std::string> replayed = webhooks_->HandleVoice(
      MakeParams({{"CallSid", kAgentLeg}, {"From", "client:agent_2Dalice"}, {"To", "+998901112233"}}));
  ASSERT_THAT(replayed.status(), IsOk());
  EXPECT_THAT(ParseXml(*replayed)->ChildNames(), ElementsAre("Hangup"));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(1));
  EXPECT_THAT(ai_.starts, SizeIs(1));
  EXPECT_EQ(store_->GetByAnyLeg(kAgentLeg)->call_sid(), customer);

  ASSERT_THAT(service_->MintToken("alice", {}).status(), IsOk());
  const std::string inbound = "CAcccccccccccccccccccccccccccccccc";
  const Params ringing = MakeParams(
      {{"CallSid", inbound}, {"From", "+998901112233"}, {"To", kCallerId}, {"CallStatus", "ringing"}});
  ASSERT_THAT(webhooks_->HandleVoice(ringing).status(), IsOk());
  ASSERT_TRUE(WaitFor([&] { return store_->AgentLegs(inbound)->size() == 1; }, absl::Seconds(10)));
  ASSERT_THAT(Status(inbound, "completed", 3), IsOk());
  ASSERT_THAT(redis_->Command({"DEL", absl::StrCat("livecall:idem:voice:", inbound)}).status(),
              IsOk());
  replayed = webhooks_->HandleVoice(ringing);
  ASSERT_THAT(replayed.status(), IsOk());
  EXPECT_THAT(ParseXml(*replayed)->ChildNames(), ElementsAre("Hangup"));
  EXPECT_EQ(store_->Get(inbound)->status(), livecall::v1::CALL_STATUS_COMPLETED);
  EXPECT_THAT(ai_.starts, SizeIs(2));
  // Within the window a retry still gets the answer given first (here: the replay's).
  EXPECT_EQ(*webhooks_->HandleVoice(ringing), *replayed);
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(2));
}

// The answering agent's console reads the call (GetCall by its leg) as soon as it accepts, before
// Twilio's participant-join names it the call's agent; once an agent has taken the call, the other
// rung agents may not.
TEST_F(TwilioCallsTest, ARungAgentReadsItsCallBeforeTheJoinIsReportedUntilAnotherAgentTakesIt) {
  ASSERT_THAT(service_->MintToken("alice", {}).status(), IsOk());
  ASSERT_THAT(service_->MintToken("bob", {}).status(), IsOk());
  const std::string customer = "CAcccccccccccccccccccccccccccccccc";
  ASSERT_THAT(webhooks_
                  ->HandleVoice(MakeParams({{"CallSid", customer},
                                            {"From", "+998901112233"},
                                            {"To", kCallerId},
                                            {"CallStatus", "ringing"}}))
                  .status(),
              IsOk());
  ASSERT_TRUE(WaitFor([&] { return store_->AgentLegs(customer)->size() == 2; }, absl::Seconds(10)));
  // Which leg rings whom, as RingAgents recorded it.
  absl::StatusOr<RedisReply> rung =
      redis_->Command({"HGETALL", absl::StrCat("livecall:call-leg-agents:", customer)});
  ASSERT_THAT(rung.status(), IsOk());
  std::map<std::string, std::string> leg_of;
  for (size_t i = 0; i + 1 < (*rung)->elements; i += 2) {
    leg_of[ReplyString(*(*rung)->element[i + 1])] = ReplyString(*(*rung)->element[i]);
  }
  ASSERT_EQ(leg_of.size(), 2u);
  const CallerIdentity alice{.agent_id = "alice", .role = kRoleAgent};
  const CallerIdentity bob{.agent_id = "bob", .role = kRoleAgent};
  const CallerIdentity carol{.agent_id = "carol", .role = kRoleAgent};

  absl::StatusOr<livecall::v1::Call> read = service_->Read(leg_of["alice"], alice);
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(read->call_sid(), customer);
  EXPECT_THAT(service_->Read(leg_of["bob"], bob).status(), IsOk());
  EXPECT_THAT(service_->Read(customer, bob).status(), IsOk());
  EXPECT_THAT(service_->Read(leg_of["alice"], carol).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));

  // Alice's join arrives: the call is hers, bob's console is refused.
  ASSERT_THAT(webhooks_->HandleConferenceStatus(
                  MakeParams({{"FriendlyName", absl::StrCat("call-", customer)},
                              {"ConferenceSid", "CF00000000000000000000000000000009"},
                              {"StatusCallbackEvent", "participant-join"},
                              {"CallSid", leg_of["alice"]},
                              {"ParticipantLabel", "agent-alice"},
                              {"SequenceNumber", "2"}})),
              IsOk());
  EXPECT_THAT(service_->Read(leg_of["alice"], alice).status(), IsOk());
  EXPECT_THAT(service_->Read(leg_of["bob"], bob).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(service_->Read(customer, bob).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

// Ending the AI session of an ended call is a job in Redis, not a task in this process: when the
// attempt at once fails and this process is gone, any replica's sweep ends it once ai-session is
// back.
TEST_F(TwilioCallsTest, ASessionWhoseEndFailedIsEndedLaterByAnyReplica) {
  ai_.FailEnd(true);
  const std::string customer = AgentCalls();
  ASSERT_THAT(Status(customer, "completed", 3), IsOk());
  ASSERT_TRUE(WaitFor([&] { return ai_.EndAttempts() >= 1; }, absl::Seconds(10)));
  EXPECT_THAT(ai_.Ends(), IsEmpty());

  ai_.FailEnd(false);
  Executor replica_executor(1);
  CallSessions replica(*store_, ai_, replica_executor,
                       {.first = absl::Seconds(1), .max = absl::Seconds(4)});
  auto sweep = [&](absl::Time at) {
    absl::StatusOr<int> ended = replica.EndDueSessions(at);
    EXPECT_THAT(ended.status(), IsOk());
    return ended.ok() ? *ended : -1;
  };
  // Not before its retry is due ...
  EXPECT_EQ(sweep(absl::Now() - absl::Seconds(1)), 0);
  EXPECT_THAT(ai_.Ends(), IsEmpty());
  // ... then once.
  EXPECT_EQ(sweep(absl::Now() + absl::Minutes(1)), 1);
  std::vector<livecall::v1::EndAiSessionRequest> ends = ai_.Ends();
  ASSERT_THAT(ends, SizeIs(1));
  EXPECT_EQ(ends[0].session_id(), "S1");
  EXPECT_EQ(ends[0].disposition(), "completed");
  EXPECT_EQ(sweep(absl::Now() + absl::Hours(1)), 0);
  EXPECT_THAT(ai_.Ends(), SizeIs(1));
}

// Issue 15.5: the AI session starts after answering when ai-session is slow; it is recorded with
// the call once it exists, and the answer does not wait for it.
TEST_F(TwilioCallsTest, ASlowAiSessionDoesNotHoldUpTheVoiceWebhook) {
  absl::Notification ai_answers;
  ai_.start_gate = &ai_answers;
  std::string twiml;
  const std::string customer = AgentCalls(&twiml);
  // Answered while ai-session had not answered yet.
  EXPECT_EQ(ai_.StartsAnswered(), 0u);
  ai_answers.Notify();
  absl::StatusOr<XmlNode> response = ParseXml(twiml);
  ASSERT_THAT(response.status(), IsOk()) << twiml;
  ASSERT_THAT(response->ChildNames(), ElementsAre("Start", "Dial"));
  // Transcription listens in the number's language meanwhile (Uzbekistan: Uzbek).
  EXPECT_EQ(response->children[0].Child("Transcription")->Attr("languageCode"), "uz-UZ");
  ASSERT_TRUE(
      WaitFor([&] { return store_->Get(customer)->session_id() == "S1"; }, absl::Seconds(10)));
}

// Issue 15.2: an inbound customer's leg has no status callback of its own: the customer leaving
// the conference ends the call, its session, and the ringing of the agents; a later
// conference-end changes nothing (forward-only).
TEST_F(TwilioCallsTest, AnInboundCustomerLeavingTheConferenceEndsTheCall) {
  ASSERT_THAT(service_->MintToken("alice", {}).status(), IsOk());
  const std::string customer = "CAcccccccccccccccccccccccccccccccc";
  ASSERT_THAT(webhooks_
                  ->HandleVoice(MakeParams({{"CallSid", customer},
                                            {"From", "+998901112233"},
                                            {"To", kCallerId},
                                            {"CallStatus", "ringing"}}))
                  .status(),
              IsOk());
  ASSERT_TRUE(WaitFor([&] { return store_->AgentLegs(customer)->size() == 1; }, absl::Seconds(10)));
  const std::string ringing_agent = store_->AgentLegs(customer)->at(0);
  auto event = [&](const std::string& name, const std::string& participant, int sequence) {
    Params params = MakeParams({{"FriendlyName", absl::StrCat("call-", customer)},
                                {"ConferenceSid", "CF00000000000000000000000000000009"},
                                {"StatusCallbackEvent", name},
                                {"SequenceNumber", absl::StrCat(sequence)}});
    if (!participant.empty()) params["CallSid"] = participant;
    if (name == "conference-end") params["ReasonConferenceEnded"] = "last-participant-left";
    return webhooks_->HandleConferenceStatus(params);
  };
  ASSERT_THAT(event("participant-join", customer, 1), IsOk());
  ASSERT_THAT(event("participant-leave", customer, 2), IsOk());
  absl::StatusOr<livecall::v1::Call> call = store_->Get(customer);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->status(), livecall::v1::CALL_STATUS_COMPLETED);
  ASSERT_TRUE(WaitFor([&] { return ai_.Ends().size() == 1; }, absl::Seconds(10)));
  EXPECT_EQ(ai_.Ends()[0].session_id(), call->session_id());
  ASSERT_TRUE(
      WaitFor([&] { return twilio_.Requests("UpdateCall").size() == 1; }, absl::Seconds(10)));
  EXPECT_EQ(twilio_.Requests("UpdateCall")[0].path_params.at("Sid"), ringing_agent);
  EXPECT_EQ(twilio_.Requests("UpdateCall")[0].Field("Status"), "canceled");

  ASSERT_THAT(event("conference-end", "", 3), IsOk());
  EXPECT_THAT(Statuses(*store_->Get(customer)), ElementsAre("ringing", "in-progress", "completed"));
}

// Issue 15.2: the conference ending (here the agent of a browser call hung up before the customer
// answered) ends the call; the customer's leg still being dialled is canceled.
TEST_F(TwilioCallsTest, TheConferenceEndingEndsTheCallAndStopsDiallingTheCustomer) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(webhooks_->HandleConferenceStatus(MakeParams(
                  {{"FriendlyName", absl::StrCat("call-", kAgentLeg)},
                   {"ConferenceSid", store_->Get(customer)->conference_sid()},
                   {"StatusCallbackEvent", "conference-end"},
                   {"ReasonConferenceEnded", "participant-with-end-conference-on-exit-left"},
                   {"CallSidEndingConference", kAgentLeg},
                   {"SequenceNumber", "4"}})),
              IsOk());
  EXPECT_EQ(store_->Get(customer)->status(), livecall::v1::CALL_STATUS_CANCELED);
  ASSERT_TRUE(WaitFor([&] { return !twilio_.Requests("UpdateCall").empty(); }, absl::Seconds(10)));
  EXPECT_EQ(twilio_.Requests("UpdateCall")[0].path_params.at("Sid"), customer);
  EXPECT_EQ(twilio_.Requests("UpdateCall")[0].Field("Status"), "canceled");
  ASSERT_TRUE(WaitFor([&] { return ai_.Ends().size() == 1; }, absl::Seconds(10)));
  EXPECT_EQ(ai_.Ends()[0].disposition(), "no-answer");
}

// Issue 15.4: a customer who is busy leaves the agent alone in the conference it started: the
// conference is ended, and the session ends saying nobody answered.
TEST_F(TwilioCallsTest, ABusyCustomerEndsTheConferenceTheAgentWaitsIn) {
  const std::string customer = AgentCalls();
  const std::string conference = store_->Get(customer)->conference_sid();
  ASSERT_THAT(Status(customer, "ringing", 1), IsOk());
  ASSERT_THAT(Status(customer, "busy", 2), IsOk());
  ASSERT_TRUE(
      WaitFor([&] { return twilio_.Requests("UpdateConference").size() == 1; }, absl::Seconds(10)));
  const TwilioApiRequest ended = twilio_.Requests("UpdateConference")[0];
  EXPECT_EQ(ended.path_params.at("Sid"), conference);
  EXPECT_EQ(ended.Field("Status"), "completed");
  ASSERT_TRUE(WaitFor([&] { return ai_.Ends().size() == 1; }, absl::Seconds(10)));
  EXPECT_EQ(ai_.Ends()[0].disposition(), "no-answer");
  // Twilio repeats the callback: nothing more is done.
  ASSERT_THAT(Status(customer, "busy", 2), IsOk());
  executor_.Drain();
  EXPECT_THAT(twilio_.Requests("UpdateConference"), SizeIs(1));
}

// Issue 15.8: Twilio takes at most 4,000 characters of inline TwiML; a longer text call is
// refused before Twilio is asked (and before it takes a line).
TEST_F(TwilioCallsTest, ATextTooLongForInlineTwimlIsRefusedBeforeTwilio) {
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998901112233");
  request.set_language("ru");
  request.set_text(std::string(3990, 'a'));
  EXPECT_THAT(service_->PlaceOnce(request, "long-1").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4000")));
  EXPECT_EQ(twilio_.total_requests(), 0);
  // What fits is placed.
  request.set_text(std::string(3800, 'a'));
  EXPECT_THAT(service_->PlaceOnce(request, "long-2").status(), IsOk());
}

TEST_F(TwilioCallsTest, InboundCallWithNoAgentIsToldSo) {
  absl::StatusOr<std::string> twiml =
      webhooks_->HandleVoice(MakeParams({{"CallSid", "CAdddddddddddddddddddddddddddddddd"},
                                         {"From", "+998901112233"},
                                         {"To", kCallerId}}));
  ASSERT_THAT(twiml.status(), IsOk());
  EXPECT_THAT(ParseXml(*twiml)->ChildNames(), ElementsAre("Say", "Hangup"));
  // In the caller's language (the session's: Russian here).
  EXPECT_EQ(ParseXml(*twiml)->children[0].text, VoiceAgentBusyLine("ru"));
}

TEST_F(TwilioCallsTest, ConfigureTtsPlacesOneCallPerIdempotencyKey) {
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998901112233");
  request.set_text("Salom <Dial>&");
  request.set_language("ru");
  twilio_.DelayNext("CreateCall", absl::Milliseconds(300));
  std::vector<std::string> sids(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<livecall::v1::Call> call = service_->PlaceOnce(request, "key-1");
      if (call.ok()) sids[i] = call->call_sid();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(1));
  for (const std::string& sid : sids) EXPECT_EQ(sid, sids[0]);
  EXPECT_FALSE(sids[0].empty());

  std::vector<TwilioApiRequest> created = twilio_.Requests("CreateCall");
  absl::StatusOr<XmlNode> twiml = ParseXml(created[0].Field("Twiml"));
  ASSERT_THAT(twiml.status(), IsOk());
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Say"));
  EXPECT_EQ(twiml->children[0].text, "Salom <Dial>&");
  EXPECT_EQ(twiml->children[0].Attr("language"), "ru-RU");
  EXPECT_EQ(created[0].Field("StatusCallback"), "https://livecall.example.com/twilio/status");
  absl::StatusOr<livecall::v1::Call> stored = store_->Get(sids[0]);
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->provider(), "twilio");

  // Another key places another call; a failed placement lets its key be used again.
  twilio_.FailNext("CreateCall", 400, 21211, "The 'To' number is not valid");
  EXPECT_THAT(service_->PlaceOnce(request, "key-2").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("21211")));
  EXPECT_THAT(service_->PlaceOnce(request, "key-2").status(), IsOk());
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(3));
}

// --- AI voice-agent calls ("ai" mode): the <Gather input="speech"> loop ------------------------

Params Query(std::initializer_list<std::pair<const std::string, std::string>> fields) {
  return MakeParams(fields);
}

TEST_F(TwilioCallsTest, AiCallGreetsThenAnswersInAGatherLoopAndEndsItsSession) {
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998935550101");
  request.set_mode(livecall::v1::CALL_MODE_AI);
  absl::StatusOr<livecall::v1::Call> call = service_->Place(request);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->mode(), livecall::v1::CALL_MODE_AI);
  EXPECT_EQ(call->session_id(), "S1");
  EXPECT_EQ(call->language(), "ru");
  EXPECT_EQ(call->text(), "Здравствуйте, Анна! Чем могу помочь?");
  ASSERT_THAT(ai_.starts, SizeIs(1));
  EXPECT_EQ(ai_.starts[0].call_sid(), call->call_sid());
  // Twilio fetches the opening when the callee answers: no inline TwiML.
  std::vector<TwilioApiRequest> created = twilio_.Requests("CreateCall");
  ASSERT_THAT(created, SizeIs(1));
  EXPECT_EQ(created[0].Field("Url"), "https://livecall.example.com/twilio/gather?step=greet");
  EXPECT_FALSE(created[0].Has("Twiml"));

  absl::StatusOr<std::string> greeting =
      webhooks_->HandleGather(MakeParams({{"CallSid", call->call_sid()}}), Query({{"step", "greet"}}));
  ASSERT_THAT(greeting.status(), IsOk());
  absl::StatusOr<XmlNode> twiml = ParseXml(*greeting);
  ASSERT_THAT(twiml.status(), IsOk());
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Gather"));
  const XmlNode& gather = twiml->children[0];
  EXPECT_EQ(gather.Attr("input"), "speech");
  EXPECT_EQ(gather.Attr("language"), "ru-RU");
  EXPECT_EQ(gather.Attr("actionOnEmptyResult"), "true");
  EXPECT_EQ(gather.Attr("action"), "https://livecall.example.com/twilio/gather?unclear=0&turn=1");
  ASSERT_THAT(gather.ChildNames(), ElementsAre("Say"));
  EXPECT_EQ(gather.children[0].text, "Здравствуйте, Анна! Чем могу помочь?");
  EXPECT_EQ(gather.children[0].Attr("language"), "ru-RU");

  // The caller speaks: ai-session hears the words, the reply is said in the next <Gather>.
  ai_.AddReply("Проверю, нет ли аварии в вашем районе.", "continue");
  absl::StatusOr<std::string> answer = webhooks_->HandleGather(
      MakeParams({{"CallSid", call->call_sid()},
                  {"SpeechResult", "У меня не работает интернет"},
                  {"Confidence", "0.87"}}),
      Query({{"unclear", "0"}}));
  ASSERT_THAT(answer.status(), IsOk());
  twiml = ParseXml(*answer);
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Gather"));
  EXPECT_EQ(twiml->children[0].children[0].text, "Проверю, нет ли аварии в вашем районе.");
  std::vector<livecall::v1::ReplyToCallerRequest> heard = ai_.Heard();
  ASSERT_THAT(heard, SizeIs(1));
  EXPECT_EQ(heard[0].session_id(), "S1");
  EXPECT_EQ(heard[0].text(), "У меня не работает интернет");
  EXPECT_FLOAT_EQ(heard[0].speech_confidence(), 0.87f);

  // Silence: an unclear answer counts up in the next action URL, and comes back with the count.
  ai_.AddReply("Извините, я вас не услышал.", "continue", /*unclear=*/true);
  answer = webhooks_->HandleGather(MakeParams({{"CallSid", call->call_sid()}}),
                                   Query({{"unclear", "0"}}));
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(ParseXml(*answer)->children[0].Attr("action"),
            "https://livecall.example.com/twilio/gather?unclear=1&turn=1");
  ai_.AddReply("Спасибо за звонок! До свидания!", "goodbye");
  answer = webhooks_->HandleGather(
      MakeParams({{"CallSid", call->call_sid()}, {"SpeechResult", "до свидания"}}),
      Query({{"unclear", "1"}}));
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(ai_.Heard()[2].unclear_attempts(), 1);
  twiml = ParseXml(*answer);
  EXPECT_THAT(twiml->ChildNames(), ElementsAre("Say", "Hangup"));

  // Twilio reports the end of the call: the session ends with it.
  ASSERT_THAT(Status(call->call_sid(), "in-progress", 1), IsOk());
  ASSERT_THAT(Status(call->call_sid(), "completed", 2), IsOk());
  ASSERT_TRUE(WaitFor([&] { return !ai_.Ends().empty(); }, absl::Seconds(5)));
  EXPECT_EQ(ai_.Ends()[0].session_id(), "S1");
  EXPECT_EQ(ai_.Ends()[0].disposition(), "completed");
}

// Twilio may deliver a Gather action twice: the retry gets the first answer, and the caller's
// words reach the conversation once. The next turn (another number in the action URL) is heard
// even when the caller says the same words again.
TEST_F(TwilioCallsTest, ARetriedGatherIsAnsweredOnceWithTheSameTwiml) {
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998935550101");
  request.set_mode(livecall::v1::CALL_MODE_AI);
  absl::StatusOr<livecall::v1::Call> call = service_->Place(request);
  ASSERT_THAT(call.status(), IsOk());
  const Params said =
      MakeParams({{"CallSid", call->call_sid()}, {"SpeechResult", "Да"}, {"Confidence", "0.9"}});
  ai_.AddReply("Хорошо, проверяю.", "continue");
  absl::StatusOr<std::string> first =
      webhooks_->HandleGather(said, Query({{"unclear", "0"}, {"turn", "3"}}));
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ(ParseXml(*first)->children[0].Attr("action"),
            "https://livecall.example.com/twilio/gather?unclear=0&turn=4");
  absl::StatusOr<std::string> retry =
      webhooks_->HandleGather(said, Query({{"unclear", "0"}, {"turn", "3"}}));
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_EQ(*retry, *first);
  EXPECT_THAT(ai_.Heard(), SizeIs(1));

  ai_.AddReply("Что-нибудь ещё?", "continue");
  absl::StatusOr<std::string> next =
      webhooks_->HandleGather(said, Query({{"unclear", "0"}, {"turn", "4"}}));
  ASSERT_THAT(next.status(), IsOk());
  EXPECT_NE(*next, *first);
  EXPECT_THAT(ai_.Heard(), SizeIs(2));
}

TEST_F(TwilioCallsTest, AiCallHandsTheCallerToAnAvailableAgent) {
  ASSERT_THAT(store_->MarkAgentAvailable("alice", absl::Now() + absl::Hours(1)), IsOk());
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998935550101");
  request.set_mode(livecall::v1::CALL_MODE_AI);
  absl::StatusOr<livecall::v1::Call> call = service_->Place(request);
  ASSERT_THAT(call.status(), IsOk());
  ai_.AddReply("Соединяю вас с оператором.", "handoff");
  absl::StatusOr<std::string> answer = webhooks_->HandleGather(
      MakeParams({{"CallSid", call->call_sid()}, {"SpeechResult", "позовите оператора"}}),
      Query({{"unclear", "0"}}));
  ASSERT_THAT(answer.status(), IsOk());
  absl::StatusOr<XmlNode> twiml = ParseXml(*answer);
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Say", "Start", "Dial"));
  const std::string conference = absl::StrCat("call-", call->call_sid());
  EXPECT_EQ(twiml->children[2].Child("Conference")->text, conference);
  // The agent's browser is rung into the caller's conference.
  ASSERT_TRUE(WaitFor([&] { return twilio_.Requests("CreateParticipant").size() == 1; },
                      absl::Seconds(5)));
  EXPECT_EQ(twilio_.Requests("CreateParticipant")[0].Field("To"), "client:alice");
  absl::StatusOr<livecall::v1::Call> stored = store_->Get(call->call_sid());
  EXPECT_TRUE(stored->handed_off());
  EXPECT_EQ(stored->conference_name(), conference);
  // The voice agent is done with this call.
  EXPECT_THAT(webhooks_->HandleGather(MakeParams({{"CallSid", call->call_sid()}}), {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(Status(call->call_sid(), "completed", 1), IsOk());
  ASSERT_TRUE(WaitFor([&] { return !ai_.Ends().empty(); }, absl::Seconds(5)));
  EXPECT_EQ(ai_.Ends()[0].disposition(), "escalated");
}

TEST_F(TwilioCallsTest, AiCallWithoutAiSessionWaitsThenHandsOverOrApologises) {
  ai_.fail = true;
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998935550101");
  request.set_mode(livecall::v1::CALL_MODE_AI);
  request.set_language("en");
  absl::StatusOr<livecall::v1::Call> call = service_->Place(request);
  ASSERT_THAT(call.status(), IsOk());  // Dialled: the call matters more than its assistant.
  EXPECT_TRUE(call->session_id().empty());
  absl::StatusOr<std::string> first =
      webhooks_->HandleGather(MakeParams({{"CallSid", call->call_sid()}}), Query({{"step", "greet"}}));
  ASSERT_THAT(first.status(), IsOk());
  absl::StatusOr<XmlNode> twiml = ParseXml(*first);
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Pause", "Redirect"));
  EXPECT_EQ(twiml->children[1].text,
            "https://livecall.example.com/twilio/gather?step=greet&attempt=1");
  // Still nothing after the last attempt, and no agent is free: an apology, not dead air.
  absl::StatusOr<std::string> last = webhooks_->HandleGather(
      MakeParams({{"CallSid", call->call_sid()}}), Query({{"step", "greet"}, {"attempt", "5"}}));
  ASSERT_THAT(last.status(), IsOk());
  twiml = ParseXml(*last);
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Say", "Say", "Hangup"));
  EXPECT_EQ(twiml->children[1].text, VoiceAgentBusyLine("en"));
  EXPECT_EQ(twiml->children[1].Attr("language"), "en-US");
}

TEST_F(TwilioCallsTest, PlaceCallChecksTheMode) {
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998935550101");
  request.set_mode(static_cast<livecall::v1::CallMode>(9));  // A gRPC client's unknown number.
  EXPECT_THAT(service_->Place(request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mode")));
  request.set_mode(livecall::v1::CALL_MODE_TTS);
  EXPECT_THAT(service_->Place(request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text is required")));
  request.set_mode(livecall::v1::CALL_MODE_AGENT);
  EXPECT_THAT(service_->Place(request).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("browser")));
  request.set_mode(livecall::v1::CALL_MODE_AI);
  request.set_language("de");
  EXPECT_THAT(service_->Place(request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("language")));
  EXPECT_THAT(twilio_.Requests("CreateCall"), IsEmpty());
  EXPECT_THAT(webhooks_->HandleGather(MakeParams({{"CallSid", "CA123"}}), {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TwilioCallsTest, VoiceTokensNeedAnAgent) {
  EXPECT_THAT(service_->MintToken("", {}).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  livecall::v1::CreateVoiceTokenRequest too_long;
  too_long.set_ttl_seconds(86401);
  EXPECT_THAT(service_->MintToken("alice", too_long).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<livecall::v1::VoiceToken> token = service_->MintToken("agent-alice", {});
  ASSERT_THAT(token.status(), IsOk());
  EXPECT_EQ(token->identity(), "agent_2Dalice");
  absl::StatusOr<VerifiedJwt> jwt = VerifyJwtHs256(token->token(), "fake-api-key-secret");
  ASSERT_THAT(jwt.status(), IsOk());
  EXPECT_EQ(jwt->payload.fields().at("exp").number_value(), token->expires_at().seconds());
}

// The sandbox keeps its behaviour and gains simulated call control.
class SandboxControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(redis_server_.Start(), IsOk());
    RedisPool::Options options;
    options.url = *ParseRedisUrl(redis_server_.url());
    redis_ = std::make_unique<RedisPool>(options);
    store_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
    sandbox_ = std::make_unique<SandboxProvider>(
        *store_,
        SandboxTimings{
            .ring = absl::Seconds(1), .answer = absl::Seconds(1), .talk = absl::Seconds(100)},
        speech_);
    service_ = std::make_unique<CallControlService>(*sandbox_, *store_, executor_, kCallerId);
  }
  livecall::testing::RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<CallStore> store_;
  SayRenderer speech_;
  std::unique_ptr<SandboxProvider> sandbox_;
  Executor executor_{1};
  std::unique_ptr<CallControlService> service_;
};

TEST_F(SandboxControlTest, HoldMuteDigitsAndHangupAreSimulated) {
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998901112233");
  request.set_text("Salom");
  absl::StatusOr<livecall::v1::Call> call = service_->Place(request);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_THAT(service_->Act(call->call_sid(), CallAction::kHold).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  const absl::Time start = absl::Now();
  ASSERT_THAT(sandbox_->RunDueSteps(start + absl::Seconds(1)).status(), IsOk());
  ASSERT_THAT(sandbox_->RunDueSteps(start + absl::Seconds(2)).status(), IsOk());
  ASSERT_EQ(store_->Get(call->call_sid())->status(), livecall::v1::CALL_STATUS_IN_PROGRESS);

  EXPECT_TRUE(service_->Act(call->call_sid(), CallAction::kHold)->on_hold());
  EXPECT_TRUE(service_->Act(call->call_sid(), CallAction::kMute)->muted());
  EXPECT_EQ(service_->Act(call->call_sid(), CallAction::kSendDigits, "5")->digits_sent(), "5");
  absl::StatusOr<livecall::v1::Call> ended = service_->Act(call->call_sid(), CallAction::kHangup);
  ASSERT_THAT(ended.status(), IsOk());
  EXPECT_EQ(ended->status(), livecall::v1::CALL_STATUS_COMPLETED);
  EXPECT_THAT(Statuses(*ended), ElementsAre("queued", "ringing", "in-progress", "completed"));
  // Hung up: the sandbox's schedule has nothing left for it.
  EXPECT_THAT(*store_->DueSteps(start + absl::Hours(1), 10), IsEmpty());
}

}  // namespace
}  // namespace livecall::call_control
