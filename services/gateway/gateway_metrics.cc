#include "services/gateway/gateway_metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"

namespace livecall::gateway {

void RecordHttpRequest(absl::string_view route, absl::string_view method, int status,
                       absl::Duration elapsed) {
  static auto& requests =
      CounterFamily("livecall_http_requests_total", "HTTP requests answered by the gateway.");
  static auto& duration = HistogramFamily("livecall_http_request_duration_seconds",
                                          "Time from an HTTP request's arrival to its answer.");
  const std::string route_label(route);
  const std::string method_label(method);
  requests.Add({{"route", route_label}, {"method", method_label}, {"status", absl::StrCat(status)}})
      .Increment();
  duration.Add({{"route", route_label}, {"method", method_label}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

prometheus::Gauge& HttpInFlightRequests() {
  static auto& gauge =
      SingleGauge("livecall_http_in_flight_requests", "HTTP requests being handled right now.");
  return gauge;
}

}  // namespace livecall::gateway
