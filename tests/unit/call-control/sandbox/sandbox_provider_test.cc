#include "services/call-control/sandbox/sandbox_provider.h"

#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/call_control_service.h"
#include "tests/support/proto_matchers.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::EqualsProto;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

std::vector<std::string> Statuses(const livecall::v1::Call& call) {
  std::vector<std::string> statuses;
  for (const livecall::v1::CallEvent& event : call.history()) {
    statuses.push_back(EnumJsonName(event.status()));
  }
  return statuses;
}

class SandboxProviderTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    store_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
  }

  livecall::v1::Call NewCall() {
    livecall::v1::Call call;
    call.set_to("+998901112233");
    call.set_from("+998712000000");
    call.set_text("Salom");
    return call;
  }

  SandboxTimings timings_{.ring = absl::Seconds(1),
                          .answer = absl::Seconds(2),
                          .talk = absl::Seconds(3),
                          .poll = absl::Milliseconds(20)};
  std::unique_ptr<CallStore> store_;
  SayRenderer speech_;
};

TEST_F(SandboxProviderTest, PlacedCallIsQueuedWithATwilioShapedSid) {
  SandboxProvider sandbox(*store_, timings_, speech_);
  absl::StatusOr<livecall::v1::Call> call = sandbox.Place(NewCall());
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_THAT(call->call_sid(), MatchesRegex("CA[0-9a-f]{32}"));
  EXPECT_EQ(call->status(), livecall::v1::CALL_STATUS_QUEUED);
  EXPECT_EQ(call->provider(), "sandbox");
  EXPECT_EQ(call->direction(), "outbound-api");
  EXPECT_THAT(Statuses(*call), ElementsAre("queued"));
  absl::StatusOr<livecall::v1::Call> stored = store_->Get(call->call_sid());
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_THAT(*stored, EqualsProto(*call));
}

TEST_F(SandboxProviderTest, StepsHappenOnlyWhenDueAndInLifecycleOrder) {
  SandboxProvider sandbox(*store_, timings_, speech_);
  absl::StatusOr<livecall::v1::Call> call = sandbox.Place(NewCall());
  ASSERT_THAT(call.status(), IsOk());
  const absl::Time placed = absl::Now();
  EXPECT_EQ(*sandbox.RunDueSteps(placed), 0);  // Ringing is a second away.
  EXPECT_EQ(*sandbox.RunDueSteps(placed + absl::Seconds(2)), 1);
  EXPECT_EQ(store_->Get(call->call_sid())->status(), livecall::v1::CALL_STATUS_RINGING);
  EXPECT_EQ(*sandbox.RunDueSteps(placed + absl::Seconds(3)), 0);  // Answer is due at +4 s.
  EXPECT_EQ(*sandbox.RunDueSteps(placed + absl::Seconds(5)), 1);
  EXPECT_EQ(*sandbox.RunDueSteps(placed + absl::Seconds(9)), 1);
  absl::StatusOr<livecall::v1::Call> done = store_->Get(call->call_sid());
  EXPECT_THAT(Statuses(*done), ElementsAre("queued", "ringing", "in-progress", "completed"));
  EXPECT_EQ(done->status(), livecall::v1::CALL_STATUS_COMPLETED);
  // Completed calls leave the schedule.
  EXPECT_TRUE(store_->DueSteps(placed + absl::Hours(1), 10)->empty());
}

TEST_F(SandboxProviderTest, TwoReplicasNeverTakeTheSameStep) {
  SandboxProvider replica_a(*store_, timings_, speech_);
  SandboxProvider replica_b(*store_, timings_, speech_);
  for (int i = 0; i < 20; ++i) ASSERT_THAT(replica_a.Place(NewCall()).status(), IsOk());
  const absl::Time later = absl::Now() + absl::Seconds(2);
  int moved_a = 0;
  int moved_b = 0;
  std::thread a([&] { moved_a = *replica_a.RunDueSteps(later); });
  std::thread b([&] { moved_b = *replica_b.RunDueSteps(later); });
  a.join();
  b.join();
  EXPECT_EQ(moved_a + moved_b, 20);
}

TEST_F(SandboxProviderTest, AClaimedStepThatWasNeverFinishedIsRetriedAfterItsLease) {
  SandboxProvider sandbox(*store_, timings_, speech_);
  absl::StatusOr<livecall::v1::Call> call = sandbox.Place(NewCall());
  ASSERT_THAT(call.status(), IsOk());
  const absl::Time due = absl::Now() + absl::Seconds(2);
  // A replica claims the step and dies before writing the call.
  ASSERT_TRUE(*store_->ClaimStep(call->call_sid(), due, absl::Seconds(10)));
  EXPECT_EQ(*sandbox.RunDueSteps(due + absl::Seconds(5)), 0);
  EXPECT_EQ(*sandbox.RunDueSteps(due + absl::Seconds(11)), 1);
  EXPECT_EQ(store_->Get(call->call_sid())->status(), livecall::v1::CALL_STATUS_RINGING);
}

TEST_F(SandboxProviderTest, BackgroundLoopCompletesACall) {
  SandboxProvider sandbox(*store_,
                          {.ring = absl::Milliseconds(30),
                           .answer = absl::Milliseconds(30),
                           .talk = absl::Milliseconds(30),
                           .poll = absl::Milliseconds(10)},
                          speech_);
  absl::StatusOr<livecall::v1::Call> call = sandbox.Place(NewCall());
  ASSERT_THAT(call.status(), IsOk());
  sandbox.Start();
  EXPECT_TRUE(livecall::testing::WaitFor(
      [&] {
        absl::StatusOr<livecall::v1::Call> current = store_->Get(call->call_sid());
        return current.ok() && current->status() == livecall::v1::CALL_STATUS_COMPLETED;
      },
      absl::Seconds(10)));
  sandbox.Stop();
}

TEST_F(SandboxProviderTest, UnknownCallsAreNotFound) {
  EXPECT_THAT(store_->Get("CA00000000000000000000000000000000"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get("CA../../x"), StatusIs(absl::StatusCode::kNotFound));
}

// The sandbox keeps its behaviour and gains simulated call control.
class SandboxControlTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    store_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
    sandbox_ = std::make_unique<SandboxProvider>(
        *store_,
        SandboxTimings{
            .ring = absl::Seconds(1), .answer = absl::Seconds(1), .talk = absl::Seconds(100)},
        speech_);
    service_ = std::make_unique<CallControlService>(*sandbox_, *store_, unary_, "+998712000000");
  }
  std::unique_ptr<CallStore> store_;
  SayRenderer speech_;
  std::unique_ptr<SandboxProvider> sandbox_;
  QueuedUnaryMethods unary_{{.threads = 1}};
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
