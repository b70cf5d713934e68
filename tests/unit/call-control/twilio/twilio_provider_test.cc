// Call control and PlaceCall through the TwilioProvider (twilio_provider.cc): hold, mute, DTMF and
// hang-up reach the customer's participant; configureTTS calls; the outbound cap and its errors.

#include <thread>

#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

using ::livecall::fakes::TwilioApiRequest;
using ::livecall::testing::IsOk;
using ::livecall::testing::ParseXml;
using ::livecall::testing::StatusIs;
using ::livecall::testing::XmlNode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class TwilioProviderTest : public TwilioWebhookTest {};

TEST_F(TwilioProviderTest, HoldResumeMuteDtmfAndHangupReachTheCustomersParticipant) {
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

TEST_F(TwilioProviderTest, ControlOfACallThatIsNotInProgressIsAConflict) {
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

TEST_F(TwilioProviderTest, TwilioErrorsOnControlSurfaceWithTheirCode) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(Status(customer, "in-progress", 2), IsOk());
  twilio_.FailNext("UpdateParticipant", 429, 20429, "Too Many Requests", /*times=*/5);
  EXPECT_THAT(service_->Act(customer, CallAction::kHold).status(),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("20429")));
  EXPECT_FALSE(store_->Get(customer)->on_hold());
}

TEST_F(TwilioProviderTest, PlaceCallRefusesNumbersAbroadAndAgentsOverTheirQuota) {
  OutboundCallLimit limit(*redis_, *store_,
                          {.max_active = 10, .max_per_agent = 1, .allowed_prefixes = {"+998"}});
  CallControlService service(*provider_, *store_, NewUnary(), kCallerId,
                             CallControlOptions{.outbound_limit = &limit}, sessions_.get());
  livecall::v1::PlaceCallRequest request;
  request.set_to("+14155550100");
  request.set_text("Salom");
  EXPECT_THAT(
      service.Place(request).status(),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("LIVECALL_ALLOWED_DIAL_PREFIXES")));
  EXPECT_THAT(twilio_.Requests("CreateCall"), IsEmpty());

  request.set_to("+998901112233");
  const CallerIdentity alice{.agent_id = "alice", .role = kRoleAgent};
  ASSERT_THAT(service.Place(request, alice).status(), IsOk());
  EXPECT_THAT(
      service.Place(request, alice).status(),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("LIVECALL_MAX_CALLS_PER_AGENT")));
  EXPECT_THAT(service.Place(request, {.agent_id = "bob", .role = kRoleAgent}).status(), IsOk());
  // A supervisor's or a service's calls count against the global cap only.
  const CallerIdentity boss{.agent_id = "boss", .role = kRoleSupervisor};
  EXPECT_THAT(service.Place(request, boss).status(), IsOk());
  EXPECT_THAT(service.Place(request, boss).status(), IsOk());
  EXPECT_THAT(service.Place(request).status(), IsOk());
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(5));
}

// Issue 15.8: Twilio takes at most 4,000 characters of inline TwiML; a longer text call is
// refused before Twilio is asked (and before it takes a line).
TEST_F(TwilioProviderTest, ATextTooLongForInlineTwimlIsRefusedBeforeTwilio) {
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

TEST_F(TwilioProviderTest, ConfigureTtsPlacesOneCallPerIdempotencyKey) {
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
}

// Another key places another call; a placement that surely dialled nobody (Twilio refused it)
// lets its Idempotency-Key be used again.
TEST_F(TwilioProviderTest, AFailedPlacementLetsItsIdempotencyKeyBeUsedAgain) {
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998901112233");
  request.set_text("Salom <Dial>&");
  request.set_language("ru");
  ASSERT_THAT(service_->PlaceOnce(request, "key-1").status(), IsOk());
  twilio_.FailNext("CreateCall", 400, 21211, "The 'To' number is not valid");
  EXPECT_THAT(service_->PlaceOnce(request, "key-2").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("21211")));
  EXPECT_THAT(service_->PlaceOnce(request, "key-2").status(), IsOk());
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(3));
}

TEST_F(TwilioProviderTest, PlaceCallChecksTheMode) {
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
}

// A placement Twilio refuses gives its slot back at once.
TEST_F(TwilioProviderTest, APlacementTwilioRefusesGivesItsSlotBack) {
  OutboundCallLimit limit(*redis_, *store_, {.max_active = 1, .allowed_prefixes = {"+998"}});
  CallControlService service(*provider_, *store_, NewUnary(), kCallerId,
                             CallControlOptions{.outbound_limit = &limit}, sessions_.get());
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998901112233");
  request.set_text("Salom");
  twilio_.FailNext("CreateCall", 400, 21211, "The 'To' number is not valid");
  EXPECT_THAT(service.Place(request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("21211")));
  EXPECT_THAT(service.Place(request).status(), IsOk());
}

}  // namespace
}  // namespace livecall::call_control
