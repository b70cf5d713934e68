#include "services/call-control/calls/call_state_machine.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;

TEST(CallStateMachineTest, TheHappyPathIsLegal) {
  EXPECT_THAT(CheckCallTransition("queued", "ringing"), IsOk());
  EXPECT_THAT(CheckCallTransition("ringing", "in-progress"), IsOk());
  EXPECT_THAT(CheckCallTransition("in-progress", "completed"), IsOk());
}

TEST(CallStateMachineTest, UnansweredOutcomesComeFromRinging) {
  for (const char* outcome : {"busy", "no-answer", "canceled", "failed"}) {
    EXPECT_THAT(CheckCallTransition("ringing", outcome), IsOk()) << outcome;
  }
}

TEST(CallStateMachineTest, TerminalStatesAreFinal) {
  for (const char* terminal : {"completed", "busy", "failed", "no-answer", "canceled"}) {
    EXPECT_TRUE(IsTerminalCallStatus(terminal));
    EXPECT_THAT(CheckCallTransition(terminal, "in-progress"),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << terminal;
  }
  EXPECT_FALSE(IsTerminalCallStatus("ringing"));
}

TEST(CallStateMachineTest, GoingBackwardsIsRejected) {
  EXPECT_THAT(CheckCallTransition("in-progress", "ringing"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckCallTransition("in-progress", "busy"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CallStateMachineTest, UnknownStatusesAreInvalid) {
  EXPECT_FALSE(IsKnownCallStatus("answered"));
  EXPECT_THAT(CheckCallTransition("queued", "answered"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CallStateMachineTest, ReportsOnlyEverMoveACallForward) {
  EXPECT_TRUE(IsForwardReport("queued", "ringing"));
  EXPECT_TRUE(IsForwardReport("queued", "in-progress"));
  EXPECT_TRUE(IsForwardReport("ringing", "completed"));  // in-progress was lost or is late.
  EXPECT_TRUE(IsForwardReport("in-progress", "completed"));
  EXPECT_FALSE(IsForwardReport("queued", "initiated"));
  EXPECT_FALSE(IsForwardReport("ringing", "ringing"));      // A retry.
  EXPECT_FALSE(IsForwardReport("in-progress", "ringing"));  // Late.
  EXPECT_FALSE(IsForwardReport("completed", "in-progress"));
  EXPECT_FALSE(IsForwardReport("busy", "completed"));  // The first final status stays.
  EXPECT_FALSE(IsForwardReport("queued", "answered"));
}

}  // namespace
}  // namespace livecall::call_control
