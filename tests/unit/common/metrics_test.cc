// The process-wide metrics (common/metrics.h) as Prometheus reads them: text exposition from the
// registry, served on a port of its own, and recorded by the Redis pool and the HTTP client.

#include "common/metrics.h"

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/http_client.h"
#include "common/redis_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, ExposerServesTheRegistryOnItsOwnPort) {
  RegisterProcessMetrics("metrics-test");
  absl::StatusOr<std::unique_ptr<MetricsExposer>> exposer = MetricsExposer::Start("127.0.0.1:0");
  ASSERT_THAT(exposer.status(), IsOk());
  ASSERT_GT((*exposer)->port(), 0);
  testing::HttpResponse response = testing::HttpRequest(
      "GET", absl::StrCat("http://127.0.0.1:", (*exposer)->port(), "/metrics"));
  EXPECT_EQ(response.status, 200) << response;
  EXPECT_THAT(response.body, HasSubstr("livecall_build_info{service=\"metrics-test\"} 1"));
}

TEST(MetricsTest, ExposerOnAPortInUseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<MetricsExposer>> first = MetricsExposer::Start("127.0.0.1:0");
  ASSERT_THAT(first.status(), IsOk());
  absl::StatusOr<std::unique_ptr<MetricsExposer>> second =
      MetricsExposer::Start(absl::StrCat("127.0.0.1:", (*first)->port()));
  EXPECT_THAT(second.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("metrics")));
}

TEST(MetricsTest, HttpClientRequestsAreLabelledByTargetAndOutcome) {
  fakes::FakeHttpServer server([](const fakes::FakeRequest&) {
    fakes::FakeResponse response;
    response.status = 503;
    response.chunks = {"{}"};
    return response;
  });
  ASSERT_THAT(server.Start(), IsOk());
  CurlHttpClient client("crm-test");
  ASSERT_THAT(client.Send({.url = server.base_url() + "/lookup"}).status(), IsOk());
  HttpRequest named{.url = server.base_url() + "/chat"};
  named.metrics_target = "llm-test";
  ASSERT_THAT(client.Send(named).status(), IsOk());
  // Nothing listens on a fresh free port: no response at all.
  EXPECT_THAT(
      client.Send({.url = absl::StrCat("http://127.0.0.1:", testing::FreeTcpPort(), "/")}).status(),
      StatusIs(absl::StatusCode::kUnavailable));
  const std::string text = SerializeMetrics();
  EXPECT_THAT(
      text,
      HasSubstr("livecall_http_client_requests_total{outcome=\"5xx\",target=\"crm-test\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr("livecall_http_client_requests_total{outcome=\"5xx\",target=\"llm-test\"} 1"));
  EXPECT_THAT(text, HasSubstr("livecall_http_client_requests_total{outcome=\"UNAVAILABLE\","
                              "target=\"crm-test\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr("livecall_http_client_request_duration_seconds_count{target=\"crm-test\"} 2"));
}

TEST(MetricsTest, RedisCommandsAreTimedAndErrorsCountedByCommand) {
  testing::RedisServer redis;
  ASSERT_THAT(redis.Start(), IsOk());
  RedisPool pool({.url = redis.parsed_url()});
  ASSERT_THAT(pool.Command({"set", "metrics-test", "1"}).status(), IsOk());
  ASSERT_THAT(pool.Command({"echo", "metrics-test"}).status(), IsOk());
  ASSERT_THAT(pool.Command({"ECHO", "metrics-test"}).status(), IsOk());
  EXPECT_THAT(pool.Command({"INCRBY", "metrics-test", "not-a-number"}).status(),
              StatusIs(absl::StatusCode::kInternal));
  const std::string text = SerializeMetrics();
  // Upper-cased, whatever the caller wrote.
  EXPECT_THAT(text, HasSubstr("livecall_redis_command_duration_seconds_count{command=\"ECHO\"} 2"));
  EXPECT_THAT(text, HasSubstr("livecall_redis_command_errors_total{code=\"INTERNAL\","
                              "command=\"INCRBY\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("livecall_redis_command_errors_total{code=\"INTERNAL\","
                                  "command=\"SET\"}")));
}

// The series are resolved once per label set and reused: each later call must still land in its
// own method's and code's series.
TEST(MetricsTest, GrpcServerRpcsAreCountedPerMethodAndCodeEveryTime) {
  for (int i = 0; i < 3; ++i) {
    RecordGrpcServerRpc("livecall.v1.MetricsTest", "Ping", "OK", absl::Milliseconds(2));
  }
  RecordGrpcServerRpc("livecall.v1.MetricsTest", "Ping", "NOT_FOUND", absl::Milliseconds(1));
  RecordGrpcServerRpc("livecall.v1.MetricsTest", "Pong", "OK", absl::Milliseconds(40));
  const std::string text = SerializeMetrics();
  EXPECT_THAT(text, HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"OK\","
                              "grpc_method=\"Ping\",grpc_service=\"livecall.v1.MetricsTest\"} 3"));
  EXPECT_THAT(text, HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                              "grpc_method=\"Ping\",grpc_service=\"livecall.v1.MetricsTest\"} 1"));
  EXPECT_THAT(text, HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"OK\","
                              "grpc_method=\"Pong\",grpc_service=\"livecall.v1.MetricsTest\"} 1"));
  EXPECT_THAT(text, HasSubstr("livecall_grpc_server_handling_seconds_count{grpc_method=\"Ping\","
                              "grpc_service=\"livecall.v1.MetricsTest\"} 4"));
  EXPECT_THAT(text, HasSubstr("livecall_grpc_server_handling_seconds_count{grpc_method=\"Pong\","
                              "grpc_service=\"livecall.v1.MetricsTest\"} 1"));
}

TEST(MetricsTest, GrpcStatusCodeNamesAreAbslSpellings) {
  for (int code = -2; code <= 20; ++code) {
    SCOPED_TRACE(code);
    EXPECT_EQ(GrpcStatusCodeName(code),
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
  }
}

// A method's resolved metrics write the same series as RecordGrpcServerRpc, into the same
// counters, and create none before the first call.
TEST(MetricsTest, ResolvedMethodMetricsCountLikeRecordGrpcServerRpc) {
  GrpcServerMethodMetrics metrics("livecall.v1.MetricsTest", "Resolved");
  EXPECT_THAT(SerializeMetrics(), Not(HasSubstr("grpc_method=\"Resolved\"")));
  metrics.Record(0, absl::Milliseconds(2));
  metrics.Record(0, absl::Milliseconds(3));
  RecordGrpcServerRpc("livecall.v1.MetricsTest", "Resolved", "OK", absl::Milliseconds(2));
  metrics.Record(5, absl::Milliseconds(1));
  // Outside gRPC's codes: absl's spelling of it, "".
  metrics.Record(99, absl::Milliseconds(1));
  const std::string text = SerializeMetrics();
  EXPECT_THAT(text,
              HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"OK\","
                        "grpc_method=\"Resolved\",grpc_service=\"livecall.v1.MetricsTest\"} 3"));
  EXPECT_THAT(text,
              HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                        "grpc_method=\"Resolved\",grpc_service=\"livecall.v1.MetricsTest\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"\","
                        "grpc_method=\"Resolved\",grpc_service=\"livecall.v1.MetricsTest\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("grpc_code=\"CANCELLED\",grpc_method=\"Resolved\"")));
  EXPECT_THAT(text,
              HasSubstr("livecall_grpc_server_handling_seconds_count{grpc_method=\"Resolved\","
                        "grpc_service=\"livecall.v1.MetricsTest\"} 5"));
  EXPECT_THAT(text,
              HasSubstr("livecall_grpc_server_handling_seconds_bucket{grpc_method=\"Resolved\","
                        "grpc_service=\"livecall.v1.MetricsTest\",le=\"0.0025\"} 4"));
}

TEST(MetricsTest, PeriodicSamplerRunsAtOnceAndStopsWhenDestroyed) {
  std::atomic<int> runs{0};
  {
    PeriodicSampler sampler(absl::Hours(1), [&runs] { ++runs; });
    EXPECT_TRUE(testing::WaitFor([&runs] { return runs.load() == 1; }, absl::Seconds(5)));
  }  // Joins without waiting for the hour.
  EXPECT_EQ(runs.load(), 1);
}

}  // namespace
}  // namespace livecall
