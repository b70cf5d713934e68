// /twilio/gather (gather_webhook.cc): the AI voice agent's calls: greeting, the <Gather> loop,
// retried turns, hand-offs to a human agent.

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
using ::testing::SizeIs;

class GatherWebhookTest : public TwilioWebhookTest {};

TEST_F(GatherWebhookTest, AiCallGreetsThenAnswersInAGatherLoopAndEndsItsSession) {
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

  absl::StatusOr<std::string> greeting = webhooks_->HandleGather(
      MakeParams({{"CallSid", call->call_sid()}}), Query({{"step", "greet"}}));
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
  absl::StatusOr<std::string> answer =
      webhooks_->HandleGather(MakeParams({{"CallSid", call->call_sid()},
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
TEST_F(GatherWebhookTest, ARetriedGatherIsAnsweredOnceWithTheSameTwiml) {
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

TEST_F(GatherWebhookTest, AiCallHandsTheCallerToAnAvailableAgent) {
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
  ASSERT_TRUE(
      WaitFor([&] { return twilio_.Requests("CreateParticipant").size() == 1; }, absl::Seconds(5)));
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

TEST_F(GatherWebhookTest, AiCallWithoutAiSessionWaitsThenHandsOverOrApologises) {
  ai_.fail = true;
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998935550101");
  request.set_mode(livecall::v1::CALL_MODE_AI);
  request.set_language("en");
  absl::StatusOr<livecall::v1::Call> call = service_->Place(request);
  ASSERT_THAT(call.status(), IsOk());  // Dialled: the call matters more than its assistant.
  EXPECT_TRUE(call->session_id().empty());
  absl::StatusOr<std::string> first = webhooks_->HandleGather(
      MakeParams({{"CallSid", call->call_sid()}}), Query({{"step", "greet"}}));
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

TEST_F(GatherWebhookTest, AGatherWithAMalformedCallSidIsRefused) {
  EXPECT_THAT(webhooks_->HandleGather(MakeParams({{"CallSid", "CA123"}}), {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace livecall::call_control
