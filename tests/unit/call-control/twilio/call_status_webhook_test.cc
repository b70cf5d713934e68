// /twilio/status (call_status_webhook.cc): forward-only moves of the call's state, and what a
// call's end does to its other legs and its AI session.

#include "tests/support/wait_for.h"
#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

using ::livecall::fakes::TwilioApiRequest;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::livecall::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class CallStatusWebhookTest : public TwilioWebhookTest {};

TEST_F(CallStatusWebhookTest, DuplicateAndOutOfOrderStatusCallbacksLeaveTheRightState) {
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
}

TEST_F(CallStatusWebhookTest, TheAgentsOwnLegDoesNotDriveTheCall) {
  const std::string customer = AgentCalls();
  ASSERT_THAT(Status(customer, "in-progress", 2), IsOk());
  ASSERT_THAT(Status(kAgentLeg, "completed", 5), IsOk());
  EXPECT_THAT(Statuses(*store_->Get(customer)), ElementsAre("queued", "in-progress"));
}

TEST_F(CallStatusWebhookTest, AStatusCallbackForACallWeDoNotTrackIsAcknowledged) {
  EXPECT_THAT(Status("CAffffffffffffffffffffffffffffffff", "ringing", 1), IsOk());
}

TEST_F(CallStatusWebhookTest, AnUnknownCallStatusIsRefused) {
  const std::string customer = AgentCalls();
  EXPECT_THAT(Status(customer, "exploded", 9), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store_->Get(customer)->status(), livecall::v1::CALL_STATUS_QUEUED);
}

// Issue 15.4: a customer who is busy leaves the agent alone in the conference it started: the
// conference is ended, and the session ends saying nobody answered.
TEST_F(CallStatusWebhookTest, ABusyCustomerEndsTheConferenceTheAgentWaitsIn) {
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

// Ending the AI session of an ended call is a job in Redis, not a task in this process: when the
// attempt at once fails and this process is gone, any replica's sweep ends it once ai-session is
// back.
TEST_F(CallStatusWebhookTest, ASessionWhoseEndFailedIsEndedLaterByAnyReplica) {
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

}  // namespace
}  // namespace livecall::call_control
