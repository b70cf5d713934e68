#include "services/call-control/call_control_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

// Records what reaches the telephone network, so validation can be checked without Redis.
class RecordingProvider final : public TelephonyProvider {
 public:
  absl::string_view name() const override { return "recording"; }
  absl::StatusOr<livecall::v1::Call> Place(livecall::v1::Call call) override {
    placed.push_back(call);
    call.set_call_sid("CA0123456789abcdef0123456789abcdef");
    call.set_status(livecall::v1::CALL_STATUS_QUEUED);
    return call;
  }
  absl::Status Hold(const livecall::v1::Call&, bool) override { return absl::OkStatus(); }
  absl::Status Mute(const livecall::v1::Call&, bool) override { return absl::OkStatus(); }
  absl::Status Hangup(const livecall::v1::Call&) override { return absl::OkStatus(); }
  absl::Status SendDigits(const livecall::v1::Call&, absl::string_view) override {
    return absl::OkStatus();
  }
  std::vector<livecall::v1::Call> placed;
};

class CallControlServiceTest : public ::testing::Test {
 protected:
  livecall::v1::PlaceCallRequest Request(const std::string& to, const std::string& text) {
    livecall::v1::PlaceCallRequest request;
    request.set_to(to);
    request.set_text(text);
    return request;
  }

  RecordingProvider provider_;
  RedisPool redis_{RedisPool::Options{}};  // Never connected: Place does not read calls back.
  CallStore calls_{redis_, absl::Hours(1)};
  QueuedUnaryMethods unary_{{.threads = 1}};
  CallControlService service_{provider_, calls_, unary_, "+998712000000"};
};

TEST_F(CallControlServiceTest, NumbersAreNormalisedAndDefaultsFilled) {
  absl::StatusOr<livecall::v1::Call> call = service_.Place(Request("90 111 22 33", "Salom"));
  ASSERT_THAT(call.status(), IsOk());
  ASSERT_EQ(provider_.placed.size(), 1u);
  EXPECT_EQ(provider_.placed[0].to(), "+998901112233");
  EXPECT_EQ(provider_.placed[0].from(), "+998712000000");
  EXPECT_EQ(provider_.placed[0].language(), "uz");
  EXPECT_EQ(provider_.placed[0].text(), "Salom");
}

TEST_F(CallControlServiceTest, BadRequestsNeverReachTheNetwork) {
  livecall::v1::PlaceCallRequest bad_language = Request("+998901112233", "Salom");
  bad_language.set_language("fr");
  livecall::v1::PlaceCallRequest bad_from = Request("+998901112233", "Salom");
  bad_from.set_from("nope");
  EXPECT_THAT(service_.Place(Request("", "Salom")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("to")));
  EXPECT_THAT(service_.Place(Request("12", "Salom")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_.Place(Request("+998901112233", "  ")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text")));
  EXPECT_THAT(service_.Place(Request("+998901112233", std::string(kMaxSpokenTextLength + 1, 'a'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer")));
  EXPECT_THAT(service_.Place(bad_language), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_.Place(bad_from),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from")));
  EXPECT_TRUE(provider_.placed.empty());
}

}  // namespace
}  // namespace livecall::call_control
