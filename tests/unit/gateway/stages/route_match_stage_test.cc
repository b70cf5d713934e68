#include "services/gateway/stages/route_match_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using testing::HeaderOf;
using testing::Request;
using testing::ServedRoutes;
using testing::TestExchange;

TEST(RouteMatchStageTest, AMatchedRouteGoesOnWithItsPathVariablesAndLabel) {
  const RouteMatchStage stage(&ServedRoutes(), nullptr);
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls/CA%201"));
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  ASSERT_EQ(test.exchange().match.result, RouteMatch::Result::kMatched);
  EXPECT_EQ(test.exchange().route().kind, RouteKind::kBackendCall);
  ASSERT_EQ(test.exchange().match.bindings.size(), 1u);
  EXPECT_EQ(test.exchange().match.bindings[0].second, "CA 1");
  EXPECT_EQ(*test.exchange().route_label, "/api/calls/{call_sid}");
}

TEST(RouteMatchStageTest, AnUnknownPathIs404) {
  const RouteMatchStage stage(&ServedRoutes(), nullptr);
  TestExchange test(Request(boost::beast::http::verb::get, "/no/such/route"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 404);
  EXPECT_THAT(answer->body, HasSubstr(R"("code":"NOT_FOUND")"));
  EXPECT_EQ(*test.exchange().route_label, "unmatched");
}

TEST(RouteMatchStageTest, AWrongMethodIs405WithAllow) {
  const RouteMatchStage stage(&ServedRoutes(), nullptr);
  TestExchange test(Request(boost::beast::http::verb::get, "/ai/call/start"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 405);
  EXPECT_EQ(HeaderOf(*answer, "Allow"), "POST");
  EXPECT_THAT(answer->body, HasSubstr(R"("code":"METHOD_NOT_ALLOWED")"));
}

TEST(RouteMatchStageTest, APathVariableThatDoesNotDecodeIs400) {
  const RouteMatchStage stage(&ServedRoutes(), nullptr);
  TestExchange test(Request(boost::beast::http::verb::get, "/ai/sessions/%E0%A4"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 400);
  EXPECT_THAT(answer->body, HasSubstr("session_id"));
}

class RouteMatchStageConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("route_match_stage_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_);
    std::ofstream(root_ / "index.html") << "<!doctype html>";
    absl::StatusOr<ConsoleFiles> console = ConsoleFiles::Load(root_.string());
    ASSERT_TRUE(console.ok()) << console.status();
    console_.emplace(*std::move(console));
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path root_;
  std::optional<ConsoleFiles> console_;
};

TEST_F(RouteMatchStageConsoleTest, APathNoRouteClaimsIsAConsoleFile) {
  const RouteMatchStage stage(&ServedRoutes(), &*console_);
  TestExchange test(Request(boost::beast::http::verb::get, "/"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "<!doctype html>");
  EXPECT_EQ(*test.exchange().route_label, "console");
}

TEST_F(RouteMatchStageConsoleTest, AConsoleFileIsOnlyForGetAndHead) {
  const RouteMatchStage stage(&ServedRoutes(), &*console_);
  TestExchange test(Request(boost::beast::http::verb::post, "/index.html", "{}"));
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 404);
}

}  // namespace
}  // namespace livecall::gateway
