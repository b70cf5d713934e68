#include "services/gateway/stages/ownership_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "services/gateway/error_response.h"
#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using testing::MetadataOf;
using testing::RecordingBackend;
using testing::Request;
using testing::TestExchange;

const AuthenticatedAgent kMallory = {.agent_id = "mallory", .role = kRoleAgent};

TEST(OwnershipCheckTest, ACallsRouteIsCheckedWithGetCallAsTheCaller) {
  RecordingBackend backend;
  const OwnershipCheck check(&backend, absl::Seconds(3));
  TestExchange test(Request(boost::beast::http::verb::post, "/api/calls/CA1/hold"));
  std::optional<BackendRequest> read =
      check.Read(test.exchange().match, kMallory, test.exchange().request_id);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->method_path, "/livecall.v1.CallControl/GetCall");
  EXPECT_EQ(read->deadline, absl::Seconds(3));
  EXPECT_EQ(MetadataOf(*read, "x-livecall-agent"), "mallory");
  EXPECT_EQ(MetadataOf(*read, "x-livecall-role"), "agent");
  EXPECT_EQ(MetadataOf(*read, "x-request-id"), "req-1");
  livecall::v1::GetCallRequest get;
  ASSERT_TRUE(get.ParseFromString(read->payload));
  EXPECT_EQ(get.call_sid(), "CA1");
}

TEST(OwnershipCheckTest, ASessionsRouteIsCheckedWithGetSession) {
  RecordingBackend backend;
  const OwnershipCheck check(&backend, absl::Seconds(3));
  TestExchange test(Request(boost::beast::http::verb::post, "/api/ai/sessions/S1/end"));
  std::optional<BackendRequest> read =
      check.Read(test.exchange().match, kMallory, test.exchange().request_id);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->method_path, "/livecall.v1.AiSession/GetSession");
  livecall::v1::GetAiSessionRequest get;
  ASSERT_TRUE(get.ParseFromString(read->payload));
  EXPECT_EQ(get.session_id(), "S1");
}

TEST(OwnershipCheckTest, ARouteThatNamesNoRecordHasNoCheck) {
  RecordingBackend backend;
  const OwnershipCheck check(&backend, absl::Seconds(3));
  TestExchange test(Request(boost::beast::http::verb::post, "/api/voip/call"));
  EXPECT_FALSE(check.Read(test.exchange().match, kMallory, test.exchange().request_id).has_value());
}

// Another agent gets the service's 403, whatever is wrong with its request.
TEST(OwnershipCheckTest, ARefusalOfAnotherAgentsRecordIsTheServicesAnswer) {
  RecordingBackend backend;
  backend.status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not your call");
  const OwnershipCheck check(&backend, absl::Seconds(3));
  TestExchange test(Request(boost::beast::http::verb::post, "/api/calls/CA1/dtmf"));
  test.exchange().caller = kMallory;
  check.RefuseAfterCheck(test.exchange(), HttpErrorResponse(400, "INVALID_ARGUMENT", "bad"),
                         test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 403);
  ASSERT_EQ(backend.calls.size(), 1u);
}

TEST(OwnershipCheckTest, TheRecordsOwnerHearsTheRefusal) {
  RecordingBackend backend;
  const OwnershipCheck check(&backend, absl::Seconds(3));
  TestExchange test(Request(boost::beast::http::verb::post, "/api/calls/CA1/dtmf"));
  check.RefuseAfterCheck(test.exchange(), HttpErrorResponse(400, "INVALID_ARGUMENT", "bad"),
                         test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 400);
}

TEST(OwnershipCheckTest, WithoutARecordTheRefusalIsAnsweredAtOnce) {
  RecordingBackend backend;
  const OwnershipCheck check(&backend, absl::Seconds(3));
  TestExchange test(Request(boost::beast::http::verb::post, "/api/voip/call"));
  check.RefuseAfterCheck(test.exchange(), HttpErrorResponse(400, "INVALID_ARGUMENT", "bad"),
                         test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 400);
  EXPECT_TRUE(backend.calls.empty());
}

}  // namespace
}  // namespace livecall::gateway
