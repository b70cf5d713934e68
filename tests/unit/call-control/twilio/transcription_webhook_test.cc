// /twilio/transcription (transcription_webhook.cc): final utterances become turns of the call's AI
// session, once each.

#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class TranscriptionWebhookTest : public TwilioWebhookTest {};

TEST_F(TranscriptionWebhookTest, FinalTranscriptsBecomeTurnsOfTheRightSpeaker) {
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
}

TEST_F(TranscriptionWebhookTest, ATranscriptionErrorIsAcknowledged) {
  const std::string customer = AgentCalls();
  EXPECT_THAT(
      webhooks_->HandleTranscription(MakeParams({{"TranscriptionEvent", "transcription-error"},
                                                 {"CallSid", customer},
                                                 {"TranscriptionErrorCode", "32651"}})),
      IsOk());
  EXPECT_THAT(ai_.Turns(), IsEmpty());
}

}  // namespace
}  // namespace livecall::call_control
