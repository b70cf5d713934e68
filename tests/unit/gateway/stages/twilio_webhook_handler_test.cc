#include "services/gateway/stages/twilio_webhook_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "livecall/v1/twilio_webhooks.pb.h"
#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using testing::MetadataOf;
using ::testing::Pair;
using testing::RecordingBackend;
using testing::Request;
using testing::TestExchange;
using ::testing::UnorderedElementsAre;

TEST(TwilioWebhookHandlerTest, TheVerifiedFieldsGoToCallControlAndItsTwimlIsTheAnswer) {
  RecordingBackend backend;
  livecall::v1::TwimlResponse twiml;
  twiml.set_twiml("<Response/>");
  backend.answer = twiml.SerializeAsString();
  const TwilioWebhookHandler handler(&backend, absl::Seconds(12));
  TestExchange test(Request(boost::beast::http::verb::post, "/twilio/voice?leg=a", "CallSid=CA1",
                            "application/x-www-form-urlencoded"));
  test.exchange().webhook_params = {{"CallSid", "CA1"}, {"From", "client:alice"}};
  test.exchange().webhook_query = {{"leg", "a"}};
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 200);
  EXPECT_EQ(test.answered()->content_type, "text/xml; charset=utf-8");
  EXPECT_EQ(test.answered()->body, "<Response/>");
  ASSERT_EQ(backend.calls.size(), 1u);
  EXPECT_EQ(backend.calls[0].method_path, "/livecall.v1.TwilioWebhooks/Voice");
  EXPECT_EQ(backend.calls[0].deadline, absl::Seconds(12));
  EXPECT_EQ(MetadataOf(backend.calls[0], "x-request-id"), "req-1");
  livecall::v1::TwilioWebhookRequest sent;
  ASSERT_TRUE(sent.ParseFromString(backend.calls[0].payload));
  EXPECT_THAT(sent.params(),
              UnorderedElementsAre(Pair("CallSid", "CA1"), Pair("From", "client:alice")));
  EXPECT_THAT(sent.query(), UnorderedElementsAre(Pair("leg", "a")));
}

TEST(TwilioWebhookHandlerTest, ACallbackThatAnswersAnAckIs204) {
  RecordingBackend backend;
  backend.answer = livecall::v1::WebhookAck().SerializeAsString();
  const TwilioWebhookHandler handler(&backend, absl::Seconds(12));
  TestExchange test(Request(boost::beast::http::verb::post, "/twilio/status", "CallSid=CA1",
                            "application/x-www-form-urlencoded"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 204);
  EXPECT_TRUE(test.answered()->body.empty());
}

TEST(TwilioWebhookHandlerTest, CallControlsErrorIsAnswered) {
  RecordingBackend backend;
  backend.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "redis down");
  const TwilioWebhookHandler handler(&backend, absl::Seconds(12));
  TestExchange test(Request(boost::beast::http::verb::post, "/twilio/status", "CallSid=CA1",
                            "application/x-www-form-urlencoded"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 503);
}

}  // namespace
}  // namespace livecall::gateway
