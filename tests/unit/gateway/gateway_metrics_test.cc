// The gateway's own metrics (services/gateway/gateway_metrics.h) as Prometheus reads them.

#include "services/gateway/gateway_metrics.h"

#include <string>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;

TEST(GatewayMetricsTest, HttpRequestsAreCountedByRouteTemplateMethodAndStatus) {
  // A route of its own: the server tests in this binary count theirs in the same registry.
  RecordHttpRequest("/api/metrics-test/{call_sid}", "GET", 404, absl::Milliseconds(3));
  RecordHttpRequest("/api/metrics-test/{call_sid}", "GET", 404, absl::Milliseconds(30));
  const std::string text = SerializeMetrics();
  EXPECT_THAT(text,
              HasSubstr("livecall_http_requests_total{method=\"GET\",route=\"/api/metrics-test/"
                        "{call_sid}\",status=\"404\"} 2"));
  EXPECT_THAT(text, HasSubstr("livecall_http_request_duration_seconds_bucket{method=\"GET\","
                              "route=\"/api/metrics-test/{call_sid}\",le=\"0.005\"} 1"));
  EXPECT_THAT(text, HasSubstr("livecall_http_request_duration_seconds_count{method=\"GET\","
                              "route=\"/api/metrics-test/{call_sid}\"} 2"));
}

// The series are kept per (route, method, status) after the first request: each combination is
// still its own series.
TEST(GatewayMetricsTest, EachStatusAndMethodOfARouteKeepsItsOwnCount) {
  for (int i = 0; i < 3; ++i) {
    RecordHttpRequest("/api/metrics-series/{id}", "POST", 200, absl::Milliseconds(1));
  }
  RecordHttpRequest("/api/metrics-series/{id}", "POST", 503, absl::Milliseconds(1));
  RecordHttpRequest("/api/metrics-series/{id}", "GET", 200, absl::Milliseconds(1));
  const std::string text = SerializeMetrics();
  EXPECT_THAT(text, HasSubstr("livecall_http_requests_total{method=\"POST\",route=\"/api/"
                              "metrics-series/{id}\",status=\"200\"} 3"));
  EXPECT_THAT(text, HasSubstr("livecall_http_requests_total{method=\"POST\",route=\"/api/"
                              "metrics-series/{id}\",status=\"503\"} 1"));
  EXPECT_THAT(text, HasSubstr("livecall_http_requests_total{method=\"GET\",route=\"/api/"
                              "metrics-series/{id}\",status=\"200\"} 1"));
  EXPECT_THAT(text, HasSubstr("livecall_http_request_duration_seconds_count{method=\"POST\","
                              "route=\"/api/metrics-series/{id}\"} 4"));
}

TEST(GatewayMetricsTest, InFlightRequestsGoUpAndDown) {
  HttpInFlightRequests().Increment();
  EXPECT_THAT(SerializeMetrics(), HasSubstr("livecall_http_in_flight_requests 1"));
  HttpInFlightRequests().Decrement();
  EXPECT_THAT(SerializeMetrics(), HasSubstr("livecall_http_in_flight_requests 0"));
}

}  // namespace
}  // namespace livecall::gateway
