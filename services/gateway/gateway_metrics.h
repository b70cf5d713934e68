#ifndef LIVECALL_SERVICES_GATEWAY_GATEWAY_METRICS_H_
#define LIVECALL_SERVICES_GATEWAY_GATEWAY_METRICS_H_

// The gateway's own metrics (the shared ones are in common/metrics.h):
//
//   livecall_http_requests_total{route,method,status}          route = path template
//   livecall_http_request_duration_seconds{route,method}       histogram
//   livecall_http_in_flight_requests                           gauge

#include <prometheus/gauge.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall::gateway {

// One HTTP request answered. `route` is the matched path template ("/api/calls/{call_sid}"), a
// fixed path ("/healthz") or "unmatched".
void RecordHttpRequest(absl::string_view route, absl::string_view method, int status,
                       absl::Duration elapsed);
prometheus::Gauge& HttpInFlightRequests();

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_GATEWAY_METRICS_H_
