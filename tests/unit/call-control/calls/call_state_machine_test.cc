#include "services/call-control/calls/call_state_machine.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::Optional;

// The status Twilio spells `text` (the tests read as the state machine's comment does).
CallStatus S(absl::string_view text) {
  std::optional<CallStatus> status = ParseCallStatus(text);
  EXPECT_TRUE(status.has_value()) << text;
  return status.value_or(livecall::v1::CALL_STATUS_UNSPECIFIED);
}

TEST(CallStateMachineTest, TheHappyPathIsLegal) {
  EXPECT_THAT(CheckCallTransition(S("queued"), S("ringing")), IsOk());
  EXPECT_THAT(CheckCallTransition(S("ringing"), S("in-progress")), IsOk());
  EXPECT_THAT(CheckCallTransition(S("in-progress"), S("completed")), IsOk());
}

TEST(CallStateMachineTest, UnansweredOutcomesComeFromRinging) {
  for (const char* outcome : {"busy", "no-answer", "canceled", "failed"}) {
    EXPECT_THAT(CheckCallTransition(S("ringing"), S(outcome)), IsOk()) << outcome;
  }
}

TEST(CallStateMachineTest, TerminalStatesAreFinal) {
  for (const char* terminal : {"completed", "busy", "failed", "no-answer", "canceled"}) {
    EXPECT_TRUE(IsTerminalCallStatus(S(terminal)));
    EXPECT_THAT(CheckCallTransition(S(terminal), S("in-progress")),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << terminal;
  }
  EXPECT_FALSE(IsTerminalCallStatus(S("ringing")));
}

TEST(CallStateMachineTest, GoingBackwardsIsRejected) {
  EXPECT_THAT(CheckCallTransition(S("in-progress"), S("ringing")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckCallTransition(S("in-progress"), S("busy")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CallStateMachineTest, UnknownStatusesAreInvalid) {
  EXPECT_EQ(ParseCallStatus("answered"), std::nullopt);
  EXPECT_EQ(ParseCallStatus(""), std::nullopt);
  EXPECT_EQ(ParseCallStatus("IN_PROGRESS"), std::nullopt);  // The enum's name is no spelling.
  EXPECT_THAT(CheckCallTransition(S("queued"), livecall::v1::CALL_STATUS_UNSPECIFIED),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CallStateMachineTest, TwilioSpellingsAreTheJsonSpellings) {
  EXPECT_THAT(ParseCallStatus("in-progress"), Optional(livecall::v1::CALL_STATUS_IN_PROGRESS));
  EXPECT_THAT(ParseCallStatus("no-answer"), Optional(livecall::v1::CALL_STATUS_NO_ANSWER));
}

TEST(CallStateMachineTest, ReportsOnlyEverMoveACallForward) {
  EXPECT_TRUE(IsForwardReport(S("queued"), S("ringing")));
  EXPECT_TRUE(IsForwardReport(S("queued"), S("in-progress")));
  EXPECT_TRUE(IsForwardReport(S("ringing"), S("completed")));  // in-progress was lost or is late.
  EXPECT_TRUE(IsForwardReport(S("in-progress"), S("completed")));
  // Twilio's "initiated" (and "answered") are no status of a Call: nothing moves.
  EXPECT_EQ(ParseCallStatus("initiated"), std::nullopt);
  EXPECT_FALSE(IsForwardReport(S("queued"), livecall::v1::CALL_STATUS_UNSPECIFIED));
  EXPECT_FALSE(IsForwardReport(S("ringing"), S("ringing")));      // A retry.
  EXPECT_FALSE(IsForwardReport(S("in-progress"), S("ringing")));  // Late.
  EXPECT_FALSE(IsForwardReport(S("completed"), S("in-progress")));
  EXPECT_FALSE(IsForwardReport(S("busy"), S("completed")));  // The first final status stays.
}

}  // namespace
}  // namespace livecall::call_control
