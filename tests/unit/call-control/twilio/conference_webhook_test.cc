// /twilio/conference (conference_webhook.cc): hold and mute in Twilio's order, and the customer
// leaving or the conference ending ends the call.

#include "tests/support/wait_for.h"
#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

using ::livecall::fakes::TwilioApiRequest;
using ::livecall::testing::IsOk;
using ::livecall::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::SizeIs;

class ConferenceWebhookTest : public TwilioWebhookTest {};

TEST_F(ConferenceWebhookTest, ConferenceEventsTrackHoldInTwiliosOrder) {
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

// Issue 15.2: an inbound customer's leg has no status callback of its own: the customer leaving
// the conference ends the call, its session, and the ringing of the agents; a later
// conference-end changes nothing (forward-only).
TEST_F(ConferenceWebhookTest, AnInboundCustomerLeavingTheConferenceEndsTheCall) {
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
TEST_F(ConferenceWebhookTest, TheConferenceEndingEndsTheCallAndStopsDiallingTheCustomer) {
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

// An inbound call rings every available agent (VoiceWebhookTest); the first to join the
// conference takes the call and its AI session, and the others stop ringing.
TEST_F(ConferenceWebhookTest, TheFirstAgentToJoinTakesTheCallAndTheOthersStopRinging) {
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

}  // namespace
}  // namespace livecall::call_control
