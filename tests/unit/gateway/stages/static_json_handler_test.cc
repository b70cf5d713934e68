#include "services/gateway/stages/static_json_handler.h"

#include <gtest/gtest.h>

#include "services/gateway/readiness.h"
#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using testing::Request;
using testing::TestExchange;

TEST(StaticJsonHandlerTest, AnswersItsDocumentAsJson) {
  const StaticJsonHandler handler(HealthzBody());
  TestExchange test(Request(boost::beast::http::verb::get, "/healthz"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 200);
  EXPECT_EQ(test.answered()->body, R"({"status":"ok"})");
  EXPECT_EQ(test.answered()->content_type, "application/json; charset=utf-8");
}

}  // namespace
}  // namespace livecall::gateway
