// /twilio/voice (voice_webhook.cc): an agent's browser call dials the customer into its
// conference, a customer calling our number rings the available agents, each starts its AI
// session; retries, replays and the outbound cap.

#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "absl/synchronization/notification.h"
#include "tests/support/wait_for.h"
#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

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

class VoiceWebhookTest : public TwilioWebhookTest {
 protected:
  // A customer calls our number: `sid` rings in from +998901112233.
  static Params Inbound(const std::string& sid) {
    return MakeParams({{"CallSid", sid},
                       {"From", "+998901112233"},
                       {"To", kCallerId},
                       {"CallStatus", "ringing"}});
  }
  static std::string VoiceAnswerKey(const std::string& sid) {
    return absl::StrCat("livecall:call:{", sid, "}:voice-answer");
  }
  // How many entries the call's live-event stream holds (each write of the call adds one).
  int64_t CallEvents(const std::string& sid) {
    absl::StatusOr<RedisReply> length =
        redis_->Command({"XLEN", absl::StrCat("livecall:call:{", sid, "}:events")});
    EXPECT_THAT(length.status(), IsOk());
    return length.ok() ? (*length)->integer : -1;
  }
};

TEST_F(VoiceWebhookTest, AgentCallJoinsAConferenceAndDialsTheCustomerIntoIt) {
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

TEST_F(VoiceWebhookTest, ARetriedVoiceWebhookDialsOnce) {
  std::string first;
  std::string second;
  AgentCalls(&first);
  AgentCalls(&second);
  EXPECT_EQ(first, second);
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(1));
  EXPECT_THAT(ai_.starts, SizeIs(1));
}

TEST_F(VoiceWebhookTest, InvalidNumberIsToldNotDialled) {
  absl::StatusOr<std::string> twiml = webhooks_->HandleVoice(
      MakeParams({{"CallSid", kAgentLeg}, {"From", "client:agent_2Dalice"}, {"To", "<Dial>12"}}));
  ASSERT_THAT(twiml.status(), IsOk());
  absl::StatusOr<XmlNode> response = ParseXml(*twiml);
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_THAT(response->ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(twilio_.total_requests(), 0);
}

TEST_F(VoiceWebhookTest, TheCallGoesOnWhenAiSessionFails) {
  ai_.fail = true;
  std::string twiml;
  const std::string customer = AgentCalls(&twiml);
  absl::StatusOr<XmlNode> response = ParseXml(twiml);
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_THAT(response->ChildNames(), ElementsAre("Start", "Dial"));
  EXPECT_EQ(store_->Get(customer)->session_id(), "");
}

// Issue 15.5: the AI session starts after answering when ai-session is slow; it is recorded with
// the call once it exists, and the answer does not wait for it.
TEST_F(VoiceWebhookTest, ASlowAiSessionDoesNotHoldUpTheVoiceWebhook) {
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

// A customer's webhook holds no RPC worker while its AI session starts (the start is an async
// call, continued from its answer): with each worker's webhook waiting for its session, other
// requests still run at once, and the webhooks are answered, with their sessions, when they come.
TEST_F(VoiceWebhookTest, CustomerWebhooksWaitingForTheirSessionsHoldNoRpcWorker) {
  absl::Notification ai_answers;
  ai_.start_gate = &ai_answers;
  struct Answers {
    absl::Mutex mu;
    std::vector<std::string> twiml ABSL_GUARDED_BY(mu);
    int failed ABSL_GUARDED_BY(mu) = 0;
  };
  auto answers = std::make_shared<Answers>();
  auto answered = [answers] {
    absl::MutexLock lock(&answers->mu);
    return static_cast<int>(answers->twiml.size()) + answers->failed;
  };
  const std::string customers[] = {"CAcccccccccccccccccccccccccccccccc",
                                   "CAdddddddddddddddddddddddddddddddd"};
  for (const std::string& customer : customers) {  // The executor has two workers.
    executor_.Submit([this, customer, answers] {
      webhooks_->HandleVoice(Inbound(customer), [answers](absl::StatusOr<std::string> twiml) {
        absl::MutexLock lock(&answers->mu);
        if (twiml.ok()) {
          answers->twiml.push_back(*twiml);
        } else {
          ++answers->failed;
        }
      });
    });
  }
  ASSERT_TRUE(WaitFor([&] { return ai_.StartsHeld() == 2; }, absl::Seconds(10)));
  // Shared with the worker, which may still be inside Notify when the test goes on.
  auto ran = std::make_shared<absl::Notification>();
  auto answered_when_ran = std::make_shared<int>(-1);
  executor_.Submit([ran, answered_when_ran, answered] {
    *answered_when_ran = answered();
    ran->Notify();
  });
  ran->WaitForNotification();
  // Run before either webhook was answered: neither held a worker while waiting.
  EXPECT_EQ(*answered_when_ran, 0);
  ai_answers.Notify();
  ASSERT_TRUE(WaitFor([&] { return answered() == 2; }, absl::Seconds(10)));
  absl::MutexLock lock(&answers->mu);
  EXPECT_EQ(answers->failed, 0);
  for (const std::string& twiml : answers->twiml) {
    // In the session's language: it came within the wait.
    EXPECT_EQ(ParseXml(twiml)->children[0].text, VoiceAgentBusyLine("ru")) << twiml;
  }
  for (const std::string& customer : customers) {
    EXPECT_THAT(store_->Get(customer)->session_id(), ::testing::StartsWith("S")) << customer;
  }
}

// The busy line is the same for every call in a language: it is rendered (for our own audio, a
// TTS cache lookup in Redis) once, not once per call, and every caller hears the same.
TEST_F(VoiceWebhookTest, TheBusyLineIsRenderedOnceForManyCallsInALanguage) {
  class CountingRenderer final : public SpeechRenderer {
   public:
    absl::StatusOr<TwimlElement> Render(const SpokenText& speech) override {
      absl::MutexLock lock(&mu);
      rendered.push_back(speech.text);
      return SayRenderer().Render(speech);
    }
    absl::Mutex mu;
    std::vector<std::string> rendered;
  };
  CountingRenderer speech;
  TwilioWebhookService webhooks(
      provider_.get(), *store_, *sessions_, voice_agent_, speech, executor_, NewUnary(),
      // Reused for an hour here: the two calls must not depend on how fast this machine is.
      TwilioWebhookOptions{
          .public_url = kPublicUrl, .caller_id = kCallerId, .busy_line_reuse = absl::Hours(1)});
  std::vector<std::string> answers;
  for (const char* customer :
       {"CAcccccccccccccccccccccccccccccccc", "CAdddddddddddddddddddddddddddddddd"}) {
    absl::StatusOr<std::string> twiml = webhooks.HandleVoice(Inbound(customer));
    ASSERT_THAT(twiml.status(), IsOk());
    answers.push_back(*twiml);
  }
  EXPECT_EQ(answers[0], answers[1]);
  EXPECT_EQ(ParseXml(answers[0])->children[0].text, VoiceAgentBusyLine("ru"));
  absl::MutexLock lock(&speech.mu);
  EXPECT_THAT(speech.rendered, ElementsAre(VoiceAgentBusyLine("ru")));
  ai_.DrainAsyncStarts();
  executor_.Drain();
}

// A signed /twilio/voice replayed after the dedup window (Twilio's own retries come within
// seconds) dials nobody and leaves the call as it is.
TEST_F(VoiceWebhookTest, ABrowserCallReplayedAfterTheDedupWindowDialsNobody) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(
      redis_->Command({"DEL", absl::StrCat("livecall:idem:{voice:", kAgentLeg, "}")}).status(),
      IsOk());  // The window has passed.
  absl::StatusOr<std::string> replayed = webhooks_->HandleVoice(MakeParams(
      {{"CallSid", kAgentLeg}, {"From", "client:agent_2Dalice"}, {"To", "+998901112233"}}));
  ASSERT_THAT(replayed.status(), IsOk());
  EXPECT_THAT(ParseXml(*replayed)->ChildNames(), ElementsAre("Hangup"));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(1));
  EXPECT_THAT(ai_.starts, SizeIs(1));
  EXPECT_EQ(store_->GetByAnyLeg(kAgentLeg)->call_sid(), customer);
}

// The same for a customer's call to our number: the replay rings nobody, writes nothing and leaves
// the ended call ended. It does ask for its AI session, before the script that finds the sid known
// (context answers the call's own session; this fake counts the start).
TEST_F(VoiceWebhookTest, AnInboundCallReplayedAfterTheDedupWindowRingsNobody) {
  ASSERT_THAT(service_->MintToken("alice", {}).status(), IsOk());
  const std::string inbound = "CAcccccccccccccccccccccccccccccccc";
  const Params ringing = MakeParams({{"CallSid", inbound},
                                     {"From", "+998901112233"},
                                     {"To", kCallerId},
                                     {"CallStatus", "ringing"}});
  ASSERT_THAT(webhooks_->HandleVoice(ringing).status(), IsOk());
  ASSERT_TRUE(WaitFor([&] { return store_->AgentLegs(inbound)->size() == 1; }, absl::Seconds(10)));
  ASSERT_THAT(Status(inbound, "completed", 3), IsOk());
  ASSERT_THAT(redis_->Command({"DEL", VoiceAnswerKey(inbound)}).status(),
              IsOk());  // The window has passed.
  absl::StatusOr<std::string> replayed = webhooks_->HandleVoice(ringing);
  ASSERT_THAT(replayed.status(), IsOk());
  EXPECT_THAT(ParseXml(*replayed)->ChildNames(), ElementsAre("Hangup"));
  EXPECT_EQ(store_->Get(inbound)->status(), livecall::v1::CALL_STATUS_COMPLETED);
  EXPECT_EQ(store_->Get(inbound)->session_id(), "S1");
  EXPECT_EQ(CallEvents(inbound), 2);  // Ringing, then completed: nothing of the replay's.
  // Within the window a retry still gets the answer given first (here: the replay's).
  EXPECT_EQ(*webhooks_->HandleVoice(ringing), *replayed);
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(1));
}

TEST_F(VoiceWebhookTest, InboundCallRingsTheAvailableAgentsIntoItsConference) {
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
  ASSERT_TRUE(WaitFor([&] { return store_->AgentLegs(customer)->size() == 2; }, absl::Seconds(10)));
}

// Twilio's retry of a customer's /twilio/voice (the same CallSid, within the dedup window) gets
// the first TwiML and writes nothing: no second event, nobody rung again, the call keeps its first
// session. (The retry asks for a session too, before the script that finds the answer; context
// answers the call's own session, this fake a new one, which is not recorded.)
TEST_F(VoiceWebhookTest, ARetriedInboundWebhookAnswersTheFirstTwimlAndWritesOnce) {
  ASSERT_THAT(service_->MintToken("alice", {}).status(), IsOk());
  const std::string customer = "CAcccccccccccccccccccccccccccccccc";
  absl::StatusOr<std::string> first = webhooks_->HandleVoice(Inbound(customer));
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_TRUE(WaitFor([&] { return store_->AgentLegs(customer)->size() == 1; }, absl::Seconds(10)));
  absl::StatusOr<std::string> retry = webhooks_->HandleVoice(Inbound(customer));
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_EQ(*retry, *first);
  EXPECT_THAT(ParseXml(*retry)->ChildNames(), ElementsAre("Start", "Dial"));
  // The call was written once, with its session.
  EXPECT_EQ(CallEvents(customer), 1);
  EXPECT_THAT(ai_.starts, SizeIs(2));
  EXPECT_EQ(store_->Get(customer)->session_id(), "S1");
  EXPECT_EQ(store_->Get(customer)->language(), "ru");
  executor_.Drain();
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(1));
}

// Two deliveries of one CallSid at once (both waiting for their sessions before either has
// written): the call's script writes one of them, and the other answers with that one's TwiML.
TEST_F(VoiceWebhookTest, TwoDeliveriesAtOnceWriteOneCallAndAnswerAlike) {
  ASSERT_THAT(service_->MintToken("alice", {}).status(), IsOk());
  const std::string customer = "CAcccccccccccccccccccccccccccccccc";
  absl::Notification both_looked_up;
  ai_.start_gate = &both_looked_up;
  absl::StatusOr<std::string> answers[2];
  std::thread deliveries[2];
  for (int i = 0; i < 2; ++i) {
    deliveries[i] = std::thread([&, i] { answers[i] = webhooks_->HandleVoice(Inbound(customer)); });
  }
  ASSERT_TRUE(WaitFor([&] { return ai_.StartsHeld() == 2; }, absl::Seconds(10)));
  both_looked_up.Notify();
  for (std::thread& delivery : deliveries) delivery.join();
  ASSERT_THAT(answers[0].status(), IsOk());
  ASSERT_THAT(answers[1].status(), IsOk());
  EXPECT_EQ(*answers[0], *answers[1]);
  EXPECT_THAT(ParseXml(*answers[0])->ChildNames(), ElementsAre("Start", "Dial"));
  EXPECT_EQ(CallEvents(customer), 1);
  executor_.Drain();
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(1));
}

// The call's script fails (here: its event stream's key holds a string, so XADD fails): nothing
// of the call is written, not even its answer or its replay marker, so Twilio's retry is answered
// afresh and not taken for a replay.
TEST_F(VoiceWebhookTest, AFailedCallScriptWritesNothingAndTheRetryIsAnswered) {
  const std::string customer = "CAcccccccccccccccccccccccccccccccc";
  const std::string events = absl::StrCat("livecall:call:{", customer, "}:events");
  ASSERT_THAT(redis_->Command({"SET", events, "not a stream"}).status(), IsOk());
  EXPECT_THAT(webhooks_->HandleVoice(Inbound(customer)).status(),
              StatusIs(absl::StatusCode::kInternal));
  for (const std::string& key :
       {absl::StrCat("livecall:call:{", customer, "}"),
        absl::StrCat("livecall:call:{", customer, "}:voice-seen"), VoiceAnswerKey(customer)}) {
    absl::StatusOr<RedisReply> exists = redis_->Command({"EXISTS", key});
    ASSERT_THAT(exists.status(), IsOk());
    EXPECT_EQ((*exists)->integer, 0) << key;
  }

  ASSERT_THAT(redis_->Command({"DEL", events}).status(), IsOk());
  absl::StatusOr<std::string> retry = webhooks_->HandleVoice(Inbound(customer));
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_THAT(ParseXml(*retry)->ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(store_->Get(customer)->status(), livecall::v1::CALL_STATUS_RINGING);
  EXPECT_EQ(CallEvents(customer), 1);
}

// A customer's call whose AI session is slow is answered (in the number's language) and written
// without it; the session is recorded on the call when it comes.
TEST_F(VoiceWebhookTest, ASlowAiSessionIsRecordedOnAnInboundCallWhenItComes) {
  absl::Notification ai_answers;
  ai_.start_gate = &ai_answers;
  const std::string customer = "CAcccccccccccccccccccccccccccccccc";
  absl::StatusOr<std::string> twiml = webhooks_->HandleVoice(Inbound(customer));
  ASSERT_THAT(twiml.status(), IsOk());
  EXPECT_EQ(ai_.StartsAnswered(), 0u);
  // No agent is online: the caller hears so in Uzbek, the number's language.
  EXPECT_THAT(ParseXml(*twiml)->ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(ParseXml(*twiml)->children[0].text, VoiceAgentBusyLine("uz"));
  EXPECT_EQ(store_->Get(customer)->session_id(), "");
  ai_answers.Notify();
  ASSERT_TRUE(
      WaitFor([&] { return store_->Get(customer)->session_id() == "S1"; }, absl::Seconds(10)));
  EXPECT_EQ(store_->Get(customer)->language(), "ru");
}

TEST_F(VoiceWebhookTest, InboundCallWithNoAgentIsToldSo) {
  absl::StatusOr<std::string> twiml =
      webhooks_->HandleVoice(MakeParams({{"CallSid", "CAdddddddddddddddddddddddddddddddd"},
                                         {"From", "+998901112233"},
                                         {"To", kCallerId}}));
  ASSERT_THAT(twiml.status(), IsOk());
  EXPECT_THAT(ParseXml(*twiml)->ChildNames(), ElementsAre("Say", "Hangup"));
  // In the caller's language (the session's: Russian here).
  EXPECT_EQ(ParseXml(*twiml)->children[0].text, VoiceAgentBusyLine("ru"));
}

// The answering agent's console reads the call (GetCall by its leg) as soon as it accepts, before
// Twilio's participant-join names it the call's agent; once an agent has taken the call, the other
// rung agents may not.
TEST_F(VoiceWebhookTest, ARungAgentReadsItsCallBeforeTheJoinIsReportedUntilAnotherAgentTakesIt) {
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
      redis_->Command({"HGETALL", absl::StrCat("livecall:call:{", customer, "}:leg-agents")});
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

// A browser call dials a customer like PlaceCall does, so it takes a slot of the same global cap;
// at the cap the agent hears that the lines are busy and nobody is dialled.
TEST_F(VoiceWebhookTest, BrowserCallsCountAgainstTheOutboundCapAndFreeTheirSlotWhenTheyEnd) {
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
TEST_F(VoiceWebhookTest, BrowserCallsReachOnlyAllowedNumbersWithinTheAgentsQuota) {
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
  XmlNode second =
      BrowserCall(*webhooks, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb3", "alice", "+998935550101", "uz");
  ASSERT_THAT(second.ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(second.children[0].text, OutboundRefusalLine(OutboundRefusal::kAgentQuota, "uz"));
  // Another agent has a quota of its own.
  EXPECT_THAT(
      BrowserCall(*webhooks, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb4", "bob", "+998935550101", "en")
          .ChildNames(),
      ElementsAre("Start", "Dial"));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(2));

  // Alice's call ends: her slot is free again.
  ASSERT_THAT(Status(store_->GetByAnyLeg(alices_leg)->call_sid(), "completed", 3), IsOk());
  EXPECT_THAT(
      BrowserCall(*webhooks, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb5", "alice", "+998935550101", "uz")
          .ChildNames(),
      ElementsAre("Start", "Dial"));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(3));
}

// A browser call whose customer cannot be dialled gives its slot back at once, rather than
// holding a line until the slot lapses.
TEST_F(VoiceWebhookTest, ABrowserCallThatCannotDialTheCustomerGivesItsSlotBack) {
  OutboundCallLimit limit(*redis_, *store_, {.max_active = 1, .allowed_prefixes = {"+998"}});
  std::unique_ptr<TwilioWebhookService> webhooks = WebhooksWith(limit);
  twilio_.FailNext("CreateParticipant", 400, 21211, "The 'To' number is not valid");
  XmlNode failed = BrowserCall(*webhooks, kAgentLeg, "alice", "+998901112233", "en");
  ASSERT_THAT(failed.ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_THAT(failed.children[0].text, HasSubstr("could not be placed"));
  EXPECT_THAT(
      BrowserCall(*webhooks, "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1", "alice", "+998901112233", "en")
          .ChildNames(),
      ElementsAre("Start", "Dial"));
}

}  // namespace
}  // namespace livecall::call_control
