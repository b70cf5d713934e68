// /twilio/dtmf (dtmf_webhook.cc): the announcement that plays digits to the customer
// (TwilioProviderTest.HoldResumeMuteDtmfAndHangupReachTheCustomersParticipant checks the URL
// Twilio is asked to announce).

#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::ParseXml;
using ::livecall::testing::StatusIs;

class DtmfWebhookTest : public TwilioWebhookTest {};

TEST_F(DtmfWebhookTest, TheAnnouncementPlaysTheDigits) {
  absl::StatusOr<std::string> play = webhooks_->HandleDtmf(MakeParams({{"digits", "12#"}}));
  ASSERT_THAT(play.status(), IsOk());
  EXPECT_EQ(ParseXml(*play)->Child("Play")->Attr("digits"), "12#");
}

TEST_F(DtmfWebhookTest, DigitsOutsideDtmfAreRefused) {
  EXPECT_THAT(webhooks_->HandleDtmf(MakeParams({{"digits", "12<x>"}})).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(webhooks_->HandleDtmf(MakeParams({})).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace livecall::call_control
