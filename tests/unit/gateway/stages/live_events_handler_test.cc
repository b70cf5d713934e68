#include "services/gateway/stages/live_events_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "livecall/v1/call_control.pb.h"
#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using testing::MetadataOf;
using testing::RecordingBackend;
using testing::Request;
using testing::TestExchange;

// Without an event hub a stream that may be opened is answered 503, which shows that the
// handler got as far as opening it.
TEST(LiveEventsHandlerTest, ASupervisorWatchesAnyCallWithoutAnOwnershipCheck) {
  RecordingBackend backend;
  const LiveEventsHandler handler(&backend, absl::Seconds(5), nullptr, nullptr);
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls/CA1/events"));
  test.exchange().caller = {.agent_id = "boss", .role = kRoleSupervisor};
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 503);
  EXPECT_TRUE(backend.calls.empty());
}

TEST(LiveEventsHandlerTest, AnAgentWatchesAnotherAgentsCallNot) {
  RecordingBackend backend;
  backend.status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not your call");
  const LiveEventsHandler handler(&backend, absl::Seconds(5), nullptr, nullptr);
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls/CA1/events"));
  test.exchange().caller = {.agent_id = "mallory", .role = kRoleAgent};
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 403);
  EXPECT_THAT(test.answered()->body, HasSubstr("not your call"));
  ASSERT_EQ(backend.calls.size(), 1u);
  EXPECT_EQ(backend.calls[0].method_path, "/livecall.v1.CallControl/GetCall");
  EXPECT_EQ(MetadataOf(backend.calls[0], "x-livecall-agent"), "mallory");
}

TEST(LiveEventsHandlerTest, AnAgentsOwnCallIsOpenedOnceItsServiceSaysSo) {
  RecordingBackend backend;
  const LiveEventsHandler handler(&backend, absl::Seconds(5), nullptr, nullptr);
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls/CA1/events"));
  test.exchange().caller = {.agent_id = "alice", .role = kRoleAgent};
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 503);
  EXPECT_EQ(backend.calls.size(), 1u);
}

}  // namespace
}  // namespace livecall::gateway
