#include "services/call-control/twilio_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

}  // namespace
}  // namespace livecall::call_control
