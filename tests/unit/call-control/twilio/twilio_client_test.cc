#include "services/call-control/twilio/twilio_client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/support/status_matchers.h"

namespace livecall::call_control {
namespace {

using ::livecall::fakes::FakeTwilio;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class TwilioClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(twilio_.Start(), IsOk()); }
  void TearDown() override { EXPECT_THAT(twilio_.Violations(), IsEmpty()); }

  TwilioClientOptions Options() {
    return {.base_url = twilio_.base_url(),
            .account_sid = "AC00000000000000000000000000000000",
            .username = "SK00000000000000000000000000000000",
            .password = "fake-api-key-secret",
            .timeout = absl::Seconds(5),
            .max_retries = 2,
            .initial_backoff = absl::Milliseconds(1),
            .max_backoff = absl::Milliseconds(5)};
  }

  FakeTwilio twilio_;
  CurlHttpClient http_;
};

TEST_F(TwilioClientTest, CreatesACallFormEncodedWithRepeatedListFields) {
  TwilioClient client(http_, Options());
  absl::StatusOr<TwilioCall> call =
      client.CreateCall({{"To", "+998901112233"},
                         {"From", "+998712000000"},
                         {"Twiml", "<Response><Say>a & b</Say></Response>"},
                         {"StatusCallbackEvent", "initiated"},
                         {"StatusCallbackEvent", "completed"}});
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_THAT(call->sid, ::testing::MatchesRegex("CA[0-9a-f]{32}"));
  EXPECT_EQ(call->status, "queued");
  std::vector<fakes::TwilioApiRequest> requests = twilio_.Requests("CreateCall");
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_EQ(requests[0].Field("Twiml"), "<Response><Say>a & b</Say></Response>");
  EXPECT_EQ(requests[0].Field("To"), "+998901112233");
  EXPECT_THAT(requests[0].Fields("StatusCallbackEvent"), ElementsAre("initiated", "completed"));
}

TEST_F(TwilioClientTest, TwilioErrorsKeepTheirCodeAndMessage) {
  TwilioClient client(http_, Options());
  twilio_.FailNext("CreateCall", 400, 21211, "The 'To' number 123 is not a valid phone number.");
  EXPECT_THAT(client.CreateCall({{"To", "+998901112233"}, {"From", "+998712000000"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("21211"), HasSubstr("not a valid phone"))));
  twilio_.FailNext("UpdateCall", 400, 21220, "Call is not in-progress. Cannot redirect.");
  EXPECT_THAT(
      client.UpdateCall("CA00000000000000000000000000000001", {{"Status", "completed"}}).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("21220")));
  twilio_.FailNext("UpdateCall", 401, 20003, "Authenticate");
  EXPECT_THAT(
      client.UpdateCall("CA00000000000000000000000000000001", {{"Status", "completed"}}).status(),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("20003")));
}

TEST_F(TwilioClientTest, TooManyRequestsIsRetriedEvenForCreates) {
  TwilioClient client(http_, Options());
  twilio_.FailNext("CreateCall", 429, 20429, "Too Many Requests", /*times=*/2);
  EXPECT_THAT(client.CreateCall({{"To", "+998901112233"}, {"From", "+998712000000"}}).status(),
              IsOk());
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(3));
}

TEST_F(TwilioClientTest, RetriesAreBoundedAndThe429Surfaces) {
  TwilioClient client(http_, Options());
  twilio_.FailNext("CreateCall", 429, 20429, "Too Many Requests", /*times=*/10);
  EXPECT_THAT(client.CreateCall({{"To", "+998901112233"}, {"From", "+998712000000"}}).status(),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("20429")));
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(3));  // 1 + max_retries.
}

TEST_F(TwilioClientTest, ServerErrorsAreRetriedOnlyWhenSafe) {
  TwilioClient client(http_, Options());
  // A create that failed with 500 may have dialled: never repeated.
  twilio_.FailNext("CreateCall", 500, 20500, "Internal Server Error");
  EXPECT_THAT(client.CreateCall({{"To", "+998901112233"}, {"From", "+998712000000"}}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(twilio_.Requests("CreateCall"), SizeIs(1));
  // A hold is idempotent: repeated.
  absl::StatusOr<TwilioParticipant> customer =
      client.CreateParticipant("call-CA00000000000000000000000000000001",
                               {{"From", "+998712000000"}, {"To", "+998901112233"}});
  ASSERT_THAT(customer.status(), IsOk());
  twilio_.FailNext("UpdateParticipant", 503, 20503, "Service Unavailable");
  absl::StatusOr<TwilioParticipant> held =
      client.UpdateParticipant(customer->conference_sid, customer->call_sid, {{"Hold", "true"}});
  ASSERT_THAT(held.status(), IsOk());
  EXPECT_TRUE(held->hold);
  EXPECT_THAT(twilio_.Requests("UpdateParticipant"), SizeIs(2));
}

TEST_F(TwilioClientTest, ConferencesAreFoundByFriendlyName) {
  TwilioClient client(http_, Options());
  absl::StatusOr<TwilioParticipant> customer =
      client.CreateParticipant("call-CA00000000000000000000000000000001",
                               {{"From", "+998712000000"}, {"To", "+998901112233"}});
  ASSERT_THAT(customer.status(), IsOk());
  absl::StatusOr<std::optional<std::string>> found =
      client.FindConference("call-CA00000000000000000000000000000001");
  ASSERT_THAT(found.status(), IsOk());
  EXPECT_EQ(found->value_or(""), customer->conference_sid);
  found = client.FindConference("call-nobody");
  ASSERT_THAT(found.status(), IsOk());
  EXPECT_FALSE(found->has_value());
}

TEST_F(TwilioClientTest, SlowTwilioIsADeadline) {
  TwilioClientOptions options = Options();
  options.timeout = absl::Milliseconds(200);
  options.max_retries = 0;
  TwilioClient client(http_, options);
  twilio_.DelayNext("UpdateCall", absl::Seconds(2));
  EXPECT_THAT(
      client.UpdateCall("CA00000000000000000000000000000001", {{"Status", "completed"}}).status(),
      StatusIs(absl::StatusCode::kDeadlineExceeded));
}

// A webhook that dials someone before answering Twilio bounds the whole request, retries
// included, by its own deadline (issue 15.5), whatever the per-attempt timeout.
TEST_F(TwilioClientTest, ACreateWithADeadlineEndsByIt) {
  TwilioClient client(http_, Options());
  twilio_.DelayNext("CreateParticipant", absl::Seconds(2));
  EXPECT_THAT(client
                  .CreateParticipant("call-CA00000000000000000000000000000001",
                                     {{"From", "+998712000000"}, {"To", "+998901112233"}},
                                     absl::Now() + absl::Milliseconds(200))
                  .status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  // A deadline already past sends nothing.
  const size_t sent = twilio_.Requests("CreateParticipant").size();
  EXPECT_THAT(client
                  .CreateParticipant("call-CA00000000000000000000000000000001",
                                     {{"From", "+998712000000"}, {"To", "+998901112233"}},
                                     absl::Now() - absl::Seconds(1))
                  .status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(twilio_.Requests("CreateParticipant"), SizeIs(sent));
}

TEST(FakeTwilioTest, RequestsOutsideTheOpenApiDescriptionAreViolations) {
  FakeTwilio twilio;
  ASSERT_THAT(twilio.Start(), IsOk());
  CurlHttpClient http;
  TwilioClient client(http, {.base_url = twilio.base_url(),
                             .account_sid = "AC00000000000000000000000000000000",
                             .username = "SK00000000000000000000000000000000",
                             .password = "fake-api-key-secret",
                             .max_retries = 0});
  EXPECT_THAT(client.CreateCall({{"To", "+998901112233"}, {"From", "+1"}, {"Bogus", "1"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(client.CreateCall({{"To", "+998901112233"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Participant updates need the conference's CF sid, not its friendly name.
  EXPECT_FALSE(
      client.UpdateParticipant("call-x", "CA00000000000000000000000000000001", {{"Hold", "true"}})
          .ok());
  EXPECT_FALSE(client
                   .UpdateParticipant("CF00000000000000000000000000000001",
                                      "CA00000000000000000000000000000001", {{"Hold", "yes"}})
                   .ok());
  TwilioClient wrong_key(http, {.base_url = twilio.base_url(),
                                .account_sid = "AC00000000000000000000000000000000",
                                .username = "SK00000000000000000000000000000000",
                                .password = "wrong",
                                .max_retries = 0});
  EXPECT_THAT(wrong_key.UpdateCall("CA00000000000000000000000000000001", {}).status(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("20003")));
  EXPECT_THAT(twilio.Violations(), SizeIs(5));
  EXPECT_THAT(twilio.Requests(), IsEmpty());
}

// What FakeTwilio models of Twilio's side (issue 15), checked against a recording server.
class FakeTwilioSideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(app_.Start(), IsOk());
    ASSERT_THAT(twilio_.Start(), IsOk());
    twilio_.SetWebhookTarget("https://live.example.com", app_.base_url(), "token");
    client_ = std::make_unique<TwilioClient>(
        http_, TwilioClientOptions{.base_url = twilio_.base_url(),
                                   .account_sid = "AC00000000000000000000000000000000",
                                   .username = "SK00000000000000000000000000000000",
                                   .password = "fake-api-key-secret",
                                   .max_retries = 0});
  }
  // The webhooks the app received, as "path event-or-status".
  std::vector<std::string> Received() {
    std::vector<std::string> received;
    for (const FakeTwilio::Webhook& webhook : twilio_.Webhooks()) {
      const std::string what = webhook.Field("StatusCallbackEvent").empty()
                                   ? webhook.Field("CallStatus")
                                   : webhook.Field("StatusCallbackEvent");
      received.push_back(absl::StrCat(webhook.url.substr(24), " ", what));
    }
    return received;
  }

  fakes::FakeHttpServer app_{[](const fakes::FakeRequest& request) {
    fakes::FakeResponse response;
    response.status = absl::StrContains(request.target, "slow") ? 200 : 204;
    if (absl::StrContains(request.target, "slow")) response.delay_before_headers = absl::Seconds(2);
    return response;
  }};
  FakeTwilio twilio_{{.webhook_budget = absl::Milliseconds(300)}};
  CurlHttpClient http_;
  std::unique_ptr<TwilioClient> client_;
};

TEST_F(FakeTwilioSideTest, StatusCallbacksGoOnlyWhereARequestConfiguredThem) {
  absl::StatusOr<TwilioCall> silent = client_->CreateCall(
      {{"To", "+998901112233"}, {"From", "+998712000000"}, {"Url", "https://x"}});
  ASSERT_THAT(silent.status(), IsOk());
  twilio_.Answer(silent->sid);
  twilio_.EndCall(silent->sid);
  EXPECT_THAT(twilio_.Webhooks(), IsEmpty());

  absl::StatusOr<TwilioCall> heard =
      client_->CreateCall({{"To", "+998901112233"},
                           {"From", "+998712000000"},
                           {"Url", "https://x"},
                           {"StatusCallback", "https://live.example.com/twilio/status"}});
  ASSERT_THAT(heard.status(), IsOk());
  twilio_.Ring(heard->sid);
  twilio_.EndCall(heard->sid, "no-answer");
  // Only `completed` when no StatusCallbackEvent is named, with the final status.
  EXPECT_THAT(Received(), ElementsAre("/twilio/status no-answer"));
  // Signed as Twilio signs: over the configured URL and the form.
  const FakeTwilio::Webhook sent = twilio_.Webhooks()[0];
  ASSERT_THAT(app_.requests(), SizeIs(1));
  EXPECT_EQ(app_.requests()[0].headers.at("x-twilio-signature"),
            fakes::TwilioTestSignature("token", sent.url, sent.form));
  EXPECT_THAT(twilio_.Violations(), IsEmpty());
}

TEST_F(FakeTwilioSideTest, ConferenceEventsFollowWhoEndsTheConference) {
  const FormFields join = {
      {"From", "+998712000000"},
      {"ConferenceStatusCallback", "https://live.example.com/twilio/conference"},
      {"ConferenceStatusCallbackEvent", "start"},
      {"ConferenceStatusCallbackEvent", "end"},
      {"ConferenceStatusCallbackEvent", "join"},
      {"ConferenceStatusCallbackEvent", "leave"}};
  auto dial = [&](const std::string& to, bool ends_conference) {
    FormFields fields = join;
    fields.emplace_back("To", to);
    fields.emplace_back("EndConferenceOnExit", ends_conference ? "true" : "false");
    absl::StatusOr<TwilioParticipant> participant = client_->CreateParticipant("call-x", fields);
    EXPECT_THAT(participant.status(), IsOk());
    return participant.ok() ? *participant : TwilioParticipant();
  };
  const TwilioParticipant customer = dial("+998901112233", true);
  const TwilioParticipant kept = dial("client:a", false);
  const TwilioParticipant removed = dial("client:b", false);
  twilio_.Answer(std::vector<std::string>{customer.call_sid, kept.call_sid, removed.call_sid});
  // Canceling an answered call does nothing (Twilio documents it so).
  ASSERT_THAT(client_->UpdateCall(kept.call_sid, {{"Status", "canceled"}}).status(), IsOk());
  EXPECT_EQ(twilio_.CallStatus(kept.call_sid), "in-progress");
  // A participant without endConferenceOnExit removed: the conference goes on.
  ASSERT_THAT(client_->DeleteParticipant(customer.conference_sid, removed.call_sid), IsOk());
  twilio_.Flush();
  EXPECT_EQ(twilio_.ConferenceStatus("call-x"), "in-progress");
  EXPECT_EQ(twilio_.CallStatus(removed.call_sid), "completed");
  // Removing one with it ends the conference for everyone, saying so.
  ASSERT_THAT(client_->DeleteParticipant(customer.conference_sid, customer.call_sid), IsOk());
  twilio_.Flush();
  EXPECT_EQ(twilio_.ConferenceStatus("call-x"), "completed");
  EXPECT_EQ(twilio_.CallStatus(kept.call_sid), "completed");
  EXPECT_THAT(
      Received(),
      ElementsAre("/twilio/conference participant-join", "/twilio/conference conference-start",
                  "/twilio/conference participant-join", "/twilio/conference participant-join",
                  "/twilio/conference participant-leave", "/twilio/conference participant-leave",
                  "/twilio/conference participant-leave", "/twilio/conference conference-end"));
  const FakeTwilio::Webhook end = twilio_.Webhooks().back();
  EXPECT_EQ(end.Field("ReasonConferenceEnded"), "participant-with-end-conference-on-exit-kicked");
  EXPECT_EQ(end.Field("CallSidEndingConference"), customer.call_sid);
  EXPECT_THAT(twilio_.Violations(), IsEmpty());
}

TEST_F(FakeTwilioSideTest, InlineTwimlOverFourThousandCharactersIsRefused) {
  auto create = [&](const std::string& twiml) {
    return client_->CreateCall(
        {{"To", "+998901112233"}, {"From", "+998712000000"}, {"Twiml", twiml}});
  };
  // Characters, not bytes: 4,000 Cyrillic letters are 8,000 bytes.
  std::string cyrillic;
  for (int i = 0; i < 4000; ++i) cyrillic += "я";
  EXPECT_THAT(create(cyrillic).status(), IsOk());
  EXPECT_THAT(create(std::string(4001, 'a')).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32018")));
  EXPECT_THAT(twilio_.Violations(), SizeIs(1));
}

TEST_F(FakeTwilioSideTest, AWebhookAnsweredAfterTwiliosBudgetIsAnApplicationError) {
  const FakeTwilio::Webhook answer =
      twilio_.IncomingCall("CA00000000000000000000000000000fff", "+998901112233", "+998712000000",
                           "https://live.example.com/twilio/status?slow");
  // The voice webhook itself is answered at once (no TwiML: the call ends); its status callback
  // is not answered within Twilio's budget.
  EXPECT_EQ(answer.status, 204);
  std::vector<std::string> violations = twilio_.Violations();
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_THAT(violations[0], HasSubstr("no answer within"));
  EXPECT_THAT(violations[0], HasSubstr("11200"));
}
}  // namespace
}  // namespace livecall::call_control
