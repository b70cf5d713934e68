#include "services/gateway/gateway_metrics.h"

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"

namespace livecall::gateway {
namespace {

// The counter and histogram of one (route, method, status). prometheus-cpp finds a family's
// member by building a std::map of its labels and hashing it, which costs a dozen allocations per
// request; the labels come from a small set (route templates, methods, statuses), so each
// combination is looked up there once and kept here. Family members are never removed, so the
// pointers stay valid.
struct RequestSeries {
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* duration = nullptr;
};

class RequestSeriesCache {
 public:
  RequestSeries Get(absl::string_view route, absl::string_view method, int status)
      ABSL_LOCKS_EXCLUDED(mu_) {
    thread_local std::string key;
    key.clear();
    absl::StrAppend(&key, route, "\n", method, "\n", status);
    absl::MutexLock lock(&mu_);
    auto it = series_.find(key);
    if (it != series_.end()) return it->second;
    static auto& requests =
        CounterFamily("livecall_http_requests_total", "HTTP requests answered by the gateway.");
    static auto& duration = HistogramFamily("livecall_http_request_duration_seconds",
                                            "Time from an HTTP request's arrival to its answer.");
    const std::string route_label(route);
    const std::string method_label(method);
    RequestSeries series;
    series.requests = &requests.Add(
        {{"route", route_label}, {"method", method_label}, {"status", absl::StrCat(status)}});
    series.duration =
        &duration.Add({{"route", route_label}, {"method", method_label}}, LatencyBuckets());
    series_.emplace(key, series);
    return series;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, RequestSeries> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void RecordHttpRequest(absl::string_view route, absl::string_view method, int status,
                       absl::Duration elapsed) {
  static auto* cache = new RequestSeriesCache();
  const RequestSeries series = cache->Get(route, method, status);
  series.requests->Increment();
  series.duration->Observe(absl::ToDoubleSeconds(elapsed));
}

prometheus::Gauge& HttpInFlightRequests() {
  static auto& gauge =
      SingleGauge("livecall_http_in_flight_requests", "HTTP requests being handled right now.");
  return gauge;
}

}  // namespace livecall::gateway
