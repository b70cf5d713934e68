#include "services/gateway/stages/cors_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using testing::HeaderOf;
using testing::Request;
using testing::ServedRoutes;
using testing::TestExchange;

constexpr char kPage[] = "https://live.example.com";

HttpRequest Preflight(const std::string& origin, const std::string& method) {
  HttpRequest request = Request(boost::beast::http::verb::options, "/api/voip/call");
  request.set(boost::beast::http::field::origin, origin);
  request.set(boost::beast::http::field::access_control_request_method, method);
  request.set(boost::beast::http::field::access_control_request_headers,
              "authorization, content-type");
  return request;
}

TEST(CorsStageTest, APreflightFromAListedOriginIsAnsweredWithTheRoutesMethod) {
  const CorsStage stage(&ServedRoutes(), CorsPolicy({kPage}));
  TestExchange test(Preflight(kPage, "POST"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 204);
  EXPECT_EQ(HeaderOf(*answer, "Access-Control-Allow-Origin"), kPage);
  EXPECT_EQ(HeaderOf(*answer, "Access-Control-Allow-Methods"), "POST");
  EXPECT_THAT(HeaderOf(*answer, "Access-Control-Allow-Headers"), HasSubstr("Authorization"));
  EXPECT_EQ(HeaderOf(*answer, "Access-Control-Allow-Credentials"), "<absent>");
  EXPECT_EQ(*test.exchange().route_label, "/api/voip/call");
}

TEST(CorsStageTest, APreflightFromAnotherOriginIs403WithoutCorsHeaders) {
  const CorsStage stage(&ServedRoutes(), CorsPolicy({kPage}));
  TestExchange test(Preflight("https://evil.example.net", "POST"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
  EXPECT_EQ(HeaderOf(*answer, "Access-Control-Allow-Origin"), "<absent>");
}

TEST(CorsStageTest, APreflightForAMethodThePathDoesNotTakeIs403) {
  const CorsStage stage(&ServedRoutes(), CorsPolicy({kPage}));
  TestExchange test(Preflight(kPage, "DELETE"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
}

TEST(CorsStageTest, EveryAnswerToAListedOriginCarriesItsHeadersErrorsIncluded) {
  const CorsStage stage(&ServedRoutes(), CorsPolicy({kPage}));
  HttpRequest request = Request(boost::beast::http::verb::get, "/api/calls/CA1");
  request.set(boost::beast::http::field::origin, kPage);
  TestExchange test(request);
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  test.exchange().respond(JsonResponse(401, "{}"));
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(HeaderOf(*test.answered(), "Access-Control-Allow-Origin"), kPage);
  EXPECT_THAT(HeaderOf(*test.answered(), "Access-Control-Expose-Headers"),
              HasSubstr("Retry-After"));
}

TEST(CorsStageTest, AnAnswerToAnotherOriginCarriesNoAllowOrigin) {
  const CorsStage stage(&ServedRoutes(), CorsPolicy({kPage}));
  HttpRequest request = Request(boost::beast::http::verb::get, "/api/calls/CA1");
  request.set(boost::beast::http::field::origin, "https://evil.example.net");
  TestExchange test(request);
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  test.exchange().respond(JsonResponse(200, "{}"));
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(HeaderOf(*test.answered(), "Access-Control-Allow-Origin"), "<absent>");
  EXPECT_EQ(HeaderOf(*test.answered(), "Vary"), "Origin");
}

TEST(CorsStageTest, WithoutConfiguredOriginsThereIsNoCors) {
  const CorsStage stage(&ServedRoutes(), CorsPolicy());
  HttpRequest request = Request(boost::beast::http::verb::get, "/api/calls/CA1");
  request.set(boost::beast::http::field::origin, kPage);
  TestExchange test(request);
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  test.exchange().respond(JsonResponse(200, "{}"));
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_TRUE(test.answered()->headers.empty());
}

}  // namespace
}  // namespace livecall::gateway
