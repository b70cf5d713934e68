#include "services/gateway/stages/backend_call_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/http.pb.h"
#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using testing::HeaderOf;
using testing::MetadataOf;
using testing::RecordingBackend;
using testing::Request;
using testing::TestExchange;

HttpRequest PlaceCall(const std::string& body = R"({"to":"+998901112233","text":"Salom"})") {
  return Request(boost::beast::http::verb::post, "/api/voip/call", body);
}

TEST(BackendCallHandlerTest, TheBodyBecomesTheRequestMessageAndTheAnswerJson) {
  RecordingBackend backend;
  livecall::v1::Call call;
  call.set_call_sid("CA1");
  backend.answer = call.SerializeAsString();
  const BackendCallHandler handler(&backend, absl::Seconds(5), nullptr);
  TestExchange test(PlaceCall());
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 200);
  EXPECT_THAT(test.answered()->body, HasSubstr(R"("callSid":"CA1")"));
  ASSERT_EQ(backend.calls.size(), 1u);
  EXPECT_EQ(backend.calls[0].method_path, "/livecall.v1.CallControl/PlaceCall");
  livecall::v1::PlaceCallRequest sent;
  ASSERT_TRUE(sent.ParseFromString(backend.calls[0].payload));
  EXPECT_EQ(sent.to(), "+998901112233");
}

TEST(BackendCallHandlerTest, TheVerifiedIdentityAndTheIdempotencyKeyAreForwarded) {
  RecordingBackend backend;
  const BackendCallHandler handler(&backend, absl::Seconds(5), nullptr);
  HttpRequest request = PlaceCall();
  request.set("Idempotency-Key", "retry-42");
  request.set("X-Livecall-Agent", "mallory");
  TestExchange test(request);
  test.exchange().caller = {.agent_id = "alice", .role = kRoleAgent};
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_EQ(backend.calls.size(), 1u);
  EXPECT_EQ(MetadataOf(backend.calls[0], "idempotency-key"), "retry-42");
  EXPECT_EQ(MetadataOf(backend.calls[0], "x-livecall-agent"), "alice");
  EXPECT_EQ(MetadataOf(backend.calls[0], "x-livecall-role"), "agent");
  EXPECT_EQ(MetadataOf(backend.calls[0], "x-request-id"), "req-1");
}

TEST(BackendCallHandlerTest, AMalformedIdempotencyKeyIs400AndCallsNothing) {
  RecordingBackend backend;
  const BackendCallHandler handler(&backend, absl::Seconds(5), nullptr);
  HttpRequest request = PlaceCall();
  request.set("Idempotency-Key", std::string(300, 'k'));
  TestExchange test(request);
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 400);
  EXPECT_TRUE(backend.calls.empty());
}

TEST(BackendCallHandlerTest, AnUnknownFieldIs400AndCallsNothing) {
  RecordingBackend backend;
  const BackendCallHandler handler(&backend, absl::Seconds(5), nullptr);
  TestExchange test(PlaceCall(R"({"phone":"+998901112233"})"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 400);
  EXPECT_THAT(test.answered()->body, HasSubstr("phone"));
  EXPECT_TRUE(backend.calls.empty());
}

TEST(BackendCallHandlerTest, ABackendErrorIsMappedToItsHttpStatus) {
  RecordingBackend backend;
  backend.status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "call CA1 has ended");
  const BackendCallHandler handler(&backend, absl::Seconds(5), nullptr);
  TestExchange test(Request(boost::beast::http::verb::post, "/api/calls/CA1/hold"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 409);
}

TEST(BackendCallHandlerTest, ARawResponseIsItsBytesOr304ForItsEtag) {
  RecordingBackend backend;
  livecall::v1::HttpBody audio;
  audio.set_content_type("audio/wav");
  audio.set_data(std::string("RIFF\0wav", 8));
  audio.set_etag("\"k1\"");
  backend.answer = audio.SerializeAsString();
  const BackendCallHandler handler(&backend, absl::Seconds(5), nullptr);
  TestExchange fresh(Request(boost::beast::http::verb::get, "/tts/a.wav"));
  handler.Serve(fresh.exchange(), fresh.Responder());
  ASSERT_TRUE(fresh.answered().has_value());
  EXPECT_EQ(fresh.answered()->status, 200);
  EXPECT_EQ(fresh.answered()->content_type, "audio/wav");
  EXPECT_EQ(fresh.answered()->body, audio.data());
  EXPECT_EQ(HeaderOf(*fresh.answered(), "ETag"), "\"k1\"");
  HttpRequest revalidate = Request(boost::beast::http::verb::get, "/tts/a.wav");
  revalidate.set(boost::beast::http::field::if_none_match, "\"k1\"");
  TestExchange cached(revalidate);
  handler.Serve(cached.exchange(), cached.Responder());
  ASSERT_TRUE(cached.answered().has_value());
  EXPECT_EQ(cached.answered()->status, 304);
  EXPECT_EQ(cached.answered()->body, "");
}

TEST(BackendCallHandlerTest, AForgedAudioIdIsRefusedWithoutABackendCall) {
  RecordingBackend backend;
  const AudioUrlSigner signer("backend-call-handler-test-tts-secret-01");
  const BackendCallHandler handler(&backend, absl::Seconds(5), &signer);
  const std::string forged = absl::StrCat(
      std::string(32, 'a'), "-", absl::ToUnixSeconds(absl::Now()) + 600, "-", std::string(32, '0'));
  TestExchange test(Request(boost::beast::http::verb::get, absl::StrCat("/tts/", forged, ".wav")));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 403);
  EXPECT_TRUE(backend.calls.empty());
}

}  // namespace
}  // namespace livecall::gateway
