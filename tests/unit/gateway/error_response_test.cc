#include "services/gateway/error_response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(HttpStatusFromGrpcTest, MapsEveryCanonicalCode) {
  const std::vector<std::pair<grpc::StatusCode, int>> table = {
      {grpc::StatusCode::OK, 200},
      {grpc::StatusCode::CANCELLED, 499},
      {grpc::StatusCode::UNKNOWN, 500},
      {grpc::StatusCode::INVALID_ARGUMENT, 400},
      {grpc::StatusCode::DEADLINE_EXCEEDED, 504},
      {grpc::StatusCode::NOT_FOUND, 404},
      {grpc::StatusCode::ALREADY_EXISTS, 409},
      {grpc::StatusCode::PERMISSION_DENIED, 403},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, 429},
      {grpc::StatusCode::FAILED_PRECONDITION, 409},
      {grpc::StatusCode::ABORTED, 409},
      {grpc::StatusCode::OUT_OF_RANGE, 400},
      {grpc::StatusCode::UNIMPLEMENTED, 501},
      {grpc::StatusCode::INTERNAL, 500},
      {grpc::StatusCode::UNAVAILABLE, 503},
      {grpc::StatusCode::DATA_LOSS, 500},
      {grpc::StatusCode::UNAUTHENTICATED, 401},
  };
  ASSERT_EQ(table.size(), 17u);
  for (const auto& [code, http] : table) {
    EXPECT_EQ(HttpStatusFromGrpc(code), http) << GrpcCodeName(code);
  }
}

TEST(HttpStatusFromGrpcTest, CodeOutsideTheEnumIs500) {
  EXPECT_EQ(HttpStatusFromGrpc(static_cast<grpc::StatusCode>(42)), 500);
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(42)), "UNKNOWN");
}

TEST(GrpcCodeNameTest, NamesAreTheCanonicalUpperCaseNames) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DATA_LOSS), "DATA_LOSS");
  // absl's names are the same strings: one vocabulary across the suite.
  for (int code = 0; code <= 16; ++code) {
    EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(code)),
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
  }
}

TEST(ErrorBodyTest, HasTheDocumentedShape) {
  EXPECT_EQ(ErrorBody("NOT_FOUND", "no such call"),
            R"({"error":{"code":"NOT_FOUND","message":"no such call"}})");
}

TEST(ErrorBodyTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(ErrorBody("INVALID_ARGUMENT", "bad \"x\"\\\n\x01"),
            R"({"error":{"code":"INVALID_ARGUMENT","message":"bad \"x\"\\\n\u0001"}})");
}

TEST(ErrorBodyTest, ReplacesInvalidUtf8AndKeepsValidUtf8) {
  EXPECT_EQ(ErrorBody("X",
                      "a\xff"
                      "b"),
            "{\"error\":{\"code\":\"X\",\"message\":\"a\xEF\xBF\xBD"
            "b\"}}");
  EXPECT_EQ(ErrorBody("X", "Привет"), "{\"error\":{\"code\":\"X\",\"message\":\"Привет\"}}");
}

TEST(ErrorResponseTest, BackendStatusBecomesStatusAndBody) {
  const HttpResponse response =
      ErrorResponse(grpc::Status(grpc::StatusCode::NOT_FOUND, "call CA1 not found"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(response.body, R"({"error":{"code":"NOT_FOUND","message":"call CA1 not found"}})");
}

TEST(ErrorResponseTest, AbslStatusUsesTheSameTable) {
  const HttpResponse response = ErrorResponse(absl::FailedPreconditionError("call ended"));
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.body, R"({"error":{"code":"FAILED_PRECONDITION","message":"call ended"}})");
}

TEST(ErrorResponseTest, OkStatusIsTreatedAsUnknown) {
  const HttpResponse response = ErrorResponse(grpc::Status::OK);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, R"({"error":{"code":"UNKNOWN","message":"internal error"}})");
}

// What our services write for the client is passed on; internal detail (gRPC transport text, Redis
// errors) is replaced by the code's stable message and kept for the log.
TEST(ErrorResponseTest, OnlyMessagesWrittenForClientsReachThem) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::OUT_OF_RANGE,
        grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::ABORTED,
        grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNAUTHENTICATED,
        grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    const HttpResponse response = ErrorResponse(grpc::Status(code, "phone number is not valid"));
    EXPECT_THAT(response.body, HasSubstr("\"message\":\"phone number is not valid\""))
        << GrpcCodeName(code);
    EXPECT_EQ(response.log_detail, "") << GrpcCodeName(code);
  }
  const std::string internal =
      "failed to connect to all addresses; last error: UNKNOWN: ipv4:10.1.2.3:50053: "
      "redis HGETALL call:CA1: WRONGTYPE Operation against a key";
  for (const auto& [code, stable] : std::vector<std::pair<grpc::StatusCode, std::string>>{
           {grpc::StatusCode::INTERNAL, "internal error"},
           {grpc::StatusCode::UNKNOWN, "internal error"},
           {grpc::StatusCode::DATA_LOSS, "internal error"},
           {grpc::StatusCode::UNAVAILABLE,
            "a service this request needs is unavailable; retry shortly"},
           {grpc::StatusCode::DEADLINE_EXCEEDED,
            "a service this request needs did not answer in time; retry shortly"},
           {grpc::StatusCode::CANCELLED, "the request was cancelled"},
           {grpc::StatusCode::UNIMPLEMENTED, "not implemented by this deployment"}}) {
    const HttpResponse response = ErrorResponse(grpc::Status(code, internal));
    EXPECT_EQ(response.body, ErrorBody(GrpcCodeName(code), stable));
    EXPECT_EQ(response.status, HttpStatusFromGrpc(code));
    EXPECT_THAT(response.log_detail, HasSubstr(internal));
  }
}

TEST(AttachRequestIdTest, AddsTheIdToErrorBodiesOnly) {
  HttpResponse error = HttpErrorResponse(404, "NOT_FOUND", "no call \"x\"");
  AttachRequestId(&error, "req-\"7");
  EXPECT_EQ(error.body,
            R"({"error":{"code":"NOT_FOUND","message":"no call \"x\"","requestId":"req-\"7"}})");
  AttachRequestId(&error, "req-8");  // Once only.
  EXPECT_THAT(error.body, Not(HasSubstr("req-8")));
  HttpResponse ok = JsonResponse(200, R"({"callSid":"CA1"})");
  AttachRequestId(&ok, "req-9");
  EXPECT_EQ(ok.body, R"({"callSid":"CA1"})");
}

TEST(HttpErrorResponseTest, UsesTheGivenStatusAndCode) {
  const HttpResponse response = HttpErrorResponse(413, "PAYLOAD_TOO_LARGE", "too big");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, R"({"error":{"code":"PAYLOAD_TOO_LARGE","message":"too big"}})");
}

}  // namespace
}  // namespace livecall::gateway
