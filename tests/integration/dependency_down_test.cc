// Fast failure and recovery by itself: while Redis or a peer service is down the API answers 503
// (UNAVAILABLE) — once it is known down, without waiting for it (the circuit breakers of
// common/circuit_breaker.h refuse at once) — and when it comes back the same processes serve
// again, with nothing restarted and nothing accepted before lost.

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.grpc.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/files.h"
#include "tests/support/json.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::Session;
using ::testing::IsEmpty;

class DependencyDownTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() { StartSuite(IntegrationSuiteOptions()); }
  static void TearDownTestSuite() { StopSuite(); }

  // Each test leaves the whole suite running and ready for the next one.
  void TearDown() override {
    EXPECT_THAT(suite().NotRunning(), IsEmpty());
    EXPECT_THAT(suite().WaitUntilReady(), IsOk());
    SuiteTest::TearDown();
  }

  static HttpResponse PostTurn(const std::string& session_id, const std::string& text) {
    return Post("/ai/sessions/" + session_id + "/turns",
                absl::StrCat(R"({"speaker":"customer","text":")", text, R"("})"));
  }

  // The value of a sample line of a service's /metrics ("name{labels} value"), or -1; the
  // gateway's is on its admin port.
  static double MetricValue(Service service, const std::string& sample) {
    const HttpResponse metrics = HttpRequest(
        "GET", absl::StrCat("http://127.0.0.1:", suite().metrics_port(service), "/metrics"));
    for (absl::string_view line : absl::StrSplit(metrics.body, '\n')) {
      if (absl::StartsWith(line, sample + " ")) {
        double value = -1;
        if (absl::SimpleAtod(line.substr(sample.size() + 1), &value)) return value;
      }
    }
    return -1;
  }
};

TEST_F(DependencyDownTest, RedisDownIsA503AtOnceAndServiceResumesByItselfWhenItIsBack) {
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998901112233", &session));
  ASSERT_EQ(PostTurn(session.session_id(), "before").status, 200);

  ASSERT_THAT(suite().redis().Stop(), IsOk());
  const std::string open_sample = R"(livecall_circuit_breaker_open{target="redis"})";
  // A few refused writes show context that Redis is down; then its breaker is open.
  HttpResponse refused;
  EXPECT_TRUE(WaitFor(
      [&] {
        refused = PostTurn(session.session_id(), "while-down");
        return MetricValue(Service::kContext, open_sample) == 1;
      },
      absl::Seconds(15)))
      << refused;
  ExpectErrorResponse(refused, 503, "UNAVAILABLE");
  // Now refused without a try: the breaker's rejections count up. (Over REST the 503 may come
  // from ai-session's own breaker for context, so context is also asked directly.)
  const std::string rejections_sample =
      R"(livecall_circuit_breaker_rejections_total{target="redis"})";
  const double rejections_before = MetricValue(Service::kContext, rejections_sample);
  ExpectErrorResponse(PostTurn(session.session_id(), "while-down"), 503, "UNAVAILABLE");
  ExpectErrorResponse(Get("/ai/sessions/" + session.session_id()), 503, "UNAVAILABLE");
  auto context = livecall::v1::Context::NewStub(suite().GrpcChannel(Service::kContext));
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  livecall::v1::GetSessionRequest request;
  request.set_session_id(session.session_id());
  livecall::v1::Session unused;
  EXPECT_EQ(context->GetSession(&call, request, &unused).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_GT(MetricValue(Service::kContext, rejections_sample), rejections_before);

  ASSERT_THAT(suite().redis().Start(), IsOk());
  HttpResponse accepted;
  EXPECT_TRUE(WaitFor(
      [&] {
        accepted = PostTurn(session.session_id(), "after");
        return accepted.status == 200;
      },
      absl::Seconds(10)))
      << accepted;
  EXPECT_EQ(MetricValue(Service::kContext, open_sample), 0);
  const HttpResponse read = Get("/ai/sessions/" + session.session_id());
  ASSERT_EQ(read.status, 200) << read;
  absl::StatusOr<Session> stored = ParseJsonAs<Session>(read.body);
  ASSERT_THAT(stored, IsOk());
  std::vector<std::string> texts;
  for (const auto& turn : stored->conversation()) texts.push_back(turn.text());
  EXPECT_THAT(texts, ::testing::Contains("before"));
  EXPECT_THAT(texts, ::testing::Contains("after"));
  EXPECT_THAT(texts, ::testing::Not(::testing::Contains("while-down")));
  ExpectSuiteHealthy();
}

TEST_F(DependencyDownTest, APeerServiceDownIsA503AndServiceResumesByItselfWhenItIsBack) {
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998935550101", &session));
  ASSERT_THAT(suite().StopService(Service::kContext), IsOk());

  // The gateway's direct route to context fails at once: its channel knows context is gone.
  ExpectErrorResponse(Get("/api/customers/%2B998901112233"), 503, "UNAVAILABLE");
  // ai-session waits a moment for context on each call (a restart is ridden out within the
  // deadline), until its breaker knows context is down; then it refuses at once.
  const std::string open_sample = R"(livecall_circuit_breaker_open{target="context"})";
  HttpResponse refused;
  EXPECT_TRUE(WaitFor(
      [&] {
        refused = Get("/ai/sessions/" + session.session_id());
        return MetricValue(Service::kAiSession, open_sample) == 1;
      },
      absl::Seconds(30)))
      << refused;
  const std::string rejections_sample =
      R"(livecall_circuit_breaker_rejections_total{target="context"})";
  const double rejections_before = MetricValue(Service::kAiSession, rejections_sample);
  ExpectErrorResponse(Post("/ai/call/start", R"({"phoneNumber":"+998901112233"})"), 503,
                      "UNAVAILABLE");
  ExpectErrorResponse(Get("/ai/sessions/" + session.session_id()), 503, "UNAVAILABLE");
  EXPECT_GT(MetricValue(Service::kAiSession, rejections_sample), rejections_before);
  EXPECT_EQ(Get("/healthz").status, 200) << "the gateway itself is still up";

  ASSERT_THAT(suite().StartService(Service::kContext), IsOk());
  HttpResponse read;
  // Found again by the breaker's probe, with nothing restarted.
  EXPECT_TRUE(WaitFor(
      [&] {
        read = Get("/ai/sessions/" + session.session_id());
        return read.status == 200;
      },
      absl::Seconds(10)))
      << read;
  EXPECT_EQ(MetricValue(Service::kAiSession, open_sample), 0);
  Session started;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998901112233", &started));
  ExpectSuiteHealthy();
}

// The gateway's own breaker per backend: a dead call-control is a 503 (whose log line names it),
// at once once known, and the gateway finds it again by itself when it is back.
TEST_F(DependencyDownTest, ADeadBackendIsAFast503FromTheGatewayAndItRecoversByItself) {
  livecall::v1::Call call;
  ASSERT_NO_FATAL_FAILURE(PlaceCall("+998901112233", "Salom", &call));
  ASSERT_THAT(suite().StopService(Service::kCallControl), IsOk());

  const std::string open_sample = R"(livecall_circuit_breaker_open{target="call-control"})";
  HttpResponse refused;
  EXPECT_TRUE(WaitFor(
      [&] {
        refused = Get("/api/calls/" + call.call_sid());
        return MetricValue(Service::kGateway, open_sample) == 1;
      },
      absl::Seconds(15)))
      << refused;
  ExpectErrorResponse(refused, 503, "UNAVAILABLE");
  // The client reads a stable message and the request id; which backend, and gRPC's own text,
  // are in the gateway's log under that id.
  const std::string request_id = refused.headers["x-request-id"];
  ASSERT_FALSE(request_id.empty()) << refused;
  EXPECT_THAT(refused.body, ::testing::HasSubstr(absl::StrCat(
                                R"("message":"a service this request needs is )",
                                R"(unavailable; retry shortly","requestId":")", request_id, "\"")));
  EXPECT_THAT(refused.body, ::testing::Not(::testing::HasSubstr("call-control")));
  std::string gateway_log;
  EXPECT_TRUE(WaitFor(
      [&] {
        gateway_log = ReadFileOrEmpty(absl::StrCat(suite().log_dir(), "/gateway.log"));
        for (absl::string_view line : absl::StrSplit(gateway_log, '\n')) {
          if (absl::StrContains(line, request_id) &&
              absl::StrContains(line, "call-control is unavailable")) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(5)))
      << "no log line with the request id and the detail";
  // Refused without a try now, for every route of that backend; the others still answer.
  const std::string rejections_sample =
      R"(livecall_circuit_breaker_rejections_total{target="call-control"})";
  const double rejections_before = MetricValue(Service::kGateway, rejections_sample);
  HttpResponse hold = Post("/api/calls/" + call.call_sid() + "/hold", "");
  ExpectErrorResponse(hold, 503, "UNAVAILABLE");
  ExpectErrorResponse(Post("/api/voip/call", R"({"to":"+998901112233","text":"Salom"})"), 503,
                      "UNAVAILABLE");
  EXPECT_GT(MetricValue(Service::kGateway, rejections_sample), rejections_before);
  EXPECT_EQ(Get("/api/customers/%2B998901112233").status, 200) << "context is still served";

  ASSERT_THAT(suite().StartService(Service::kCallControl), IsOk());
  HttpResponse read;
  EXPECT_TRUE(WaitFor(
      [&] {
        read = Get("/api/calls/" + call.call_sid());
        return read.status == 200;
      },
      absl::Seconds(15)))
      << read;
  EXPECT_EQ(MetricValue(Service::kGateway, open_sample), 0);
  ExpectSuiteHealthy();
}

}  // namespace
}  // namespace livecall::testing
