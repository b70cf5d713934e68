#include "services/gateway/error_response.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace livecall::gateway {
namespace {

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

TEST(ToValidUtf8Test, RejectsOverlongSurrogatesAndTruncatedSequences) {
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // Overlong '/'.
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // Surrogate.
  EXPECT_EQ(ToValidUtf8("ok\xE2\x82"), "ok\xEF\xBF\xBD\xEF\xBF\xBD");              // Truncated.
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");                  // U+1F600.
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
  EXPECT_EQ(response.body, R"({"error":{"code":"UNKNOWN","message":""}})");
}

TEST(HttpErrorResponseTest, UsesTheGivenStatusAndCode) {
  const HttpResponse response = HttpErrorResponse(413, "PAYLOAD_TOO_LARGE", "too big");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body, R"({"error":{"code":"PAYLOAD_TOO_LARGE","message":"too big"}})");
}

}  // namespace
}  // namespace livecall::gateway
