#ifndef LIVECALL_COMMON_METRICS_H_
#define LIVECALL_COMMON_METRICS_H_

// Prometheus metrics (prometheus-cpp): one registry per process, exposed at /metrics — by the
// gateway on its own HTTP port, by the gRPC services on a metrics address of their own
// (MetricsExposer). The metric families two or more processes share are defined here so that their
// names, help texts, labels and buckets are written once:
//
//   livecall_build_info{service}                              gauge, always 1
//   livecall_grpc_server_handled_total{grpc_service,grpc_method,grpc_code}
//   livecall_grpc_server_handling_seconds{grpc_service,grpc_method}       histogram
//   livecall_grpc_server_in_flight                                         gauge
//   livecall_redis_command_duration_seconds{command}           histogram
//   livecall_redis_command_errors_total{command,code}
//   livecall_http_client_request_duration_seconds{target}      histogram (llm, twilio, crm, ...)
//   livecall_http_client_requests_total{target,outcome}        outcome 2xx..5xx or an error code
//   livecall_circuit_breaker_open{target}, livecall_circuit_breaker_rejections_total{target}
//
// A service's own metrics are in services/<name>/<name>_metrics.h, defined with CounterFamily,
// HistogramFamily and SingleGauge below.
//
// Labels only ever take values from bounded sets (proto method names, route templates, command
// names written in the code, target names chosen by callers), never raw paths or ids.
// Everything here is thread-safe.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/config.h"

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace livecall {

// The process-wide registry every metric below lives in.
prometheus::Registry& MetricsRegistry();
std::shared_ptr<prometheus::Registry> SharedMetricsRegistry();

// Sets livecall_build_info{service=...} to 1; call once from main().
void RegisterProcessMetrics(absl::string_view service_name);

// The registry in the Prometheus text format (version 0.0.4), for an HTTP handler.
std::string SerializeMetrics();
inline constexpr absl::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// A counter family, a histogram family or a gauge without labels, registered in MetricsRegistry()
// under `name`; for the metrics a service defines itself. Call once per name (keep the result).
prometheus::Family<prometheus::Counter>& CounterFamily(const std::string& name,
                                                       const std::string& help);
prometheus::Family<prometheus::Histogram>& HistogramFamily(const std::string& name,
                                                           const std::string& help);
prometheus::Gauge& SingleGauge(const std::string& name, const std::string& help);

// Latency buckets in seconds, 1 ms to 30 s: gRPC handling, Redis commands and remote HTTP calls
// (an LLM answer can take seconds) all fit one scale.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// Serves GET /metrics of MetricsRegistry() on its own port (the gRPC services; the gateway serves
// /metrics on its HTTP port instead). Stops when destroyed.
class MetricsExposer {
 public:
  // UNAVAILABLE when `address` ("host:port"; port 0 picks a free one) cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsExposer>> Start(const std::string& address);
  ~MetricsExposer();
  MetricsExposer(const MetricsExposer&) = delete;
  MetricsExposer& operator=(const MetricsExposer&) = delete;

  int port() const { return port_; }

 private:
  MetricsExposer(std::unique_ptr<prometheus::Exposer> exposer, int port);

  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
};

// Where a gRPC service serves /metrics: `variable` (LIVECALL_CONTEXT_METRICS_ADDR, ...) or
// `default_address`. One variable per service, like LIVECALL_*_ADDR, so that the suite's processes
// can share one environment on a developer's machine.
std::string ReadMetricsAddress(EnvReader& env, const char* variable,
                               absl::string_view default_address);

// gRPC server RPCs; used by the server interceptor (common/grpc_observability.h).
void RecordGrpcServerRpc(absl::string_view service, absl::string_view method,
                         absl::string_view code, absl::Duration elapsed);

// The name of a gRPC status code number as absl::StatusCodeToString spells it ("OK",
// "NOT_FOUND"; "" for a number outside 0..16), without building a string.
absl::string_view GrpcStatusCodeName(int code);

// The gRPC server metrics of one method, for a caller that keeps one per method (the server
// interceptor): Record then costs no label lookup, no key string and no lock of ours, only
// prometheus-cpp's observation. Each metric is created when first recorded, as
// RecordGrpcServerRpc does, so /metrics shows the same series either way.
class GrpcServerMethodMetrics {
 public:
  GrpcServerMethodMetrics(absl::string_view service, absl::string_view method);
  GrpcServerMethodMetrics(const GrpcServerMethodMetrics&) = delete;
  GrpcServerMethodMetrics& operator=(const GrpcServerMethodMetrics&) = delete;

  // `code` is a gRPC status code number.
  void Record(int code, absl::Duration elapsed);

 private:
  static constexpr int kCodes = 17;

  const std::string service_;
  const std::string method_;
  // Resolved on first use; the family hands the same metric to racing resolvers.
  std::atomic<prometheus::Histogram*> handling_{nullptr};
  std::array<std::atomic<prometheus::Counter*>, kCodes> handled_by_code_{};
};
prometheus::Gauge& GrpcServerInFlight();

// One Redis command (or pipeline, named by its first command). `error_code` empty when it
// succeeded, else the absl status code name ("UNAVAILABLE", "INTERNAL").
void RecordRedisCommand(absl::string_view command, absl::Duration elapsed,
                        absl::string_view error_code);

// One outbound HTTP request to `target` ("llm", "twilio", "crm"); `outcome` is the status class
// ("2xx".."5xx") or the error code name when no response arrived.
void RecordHttpClientRequest(absl::string_view target, absl::Duration elapsed,
                             absl::string_view outcome);

// Circuit breakers (common/circuit_breaker.h): livecall_circuit_breaker_open{target} is 1 while
// the breaker of `target` refuses calls; livecall_circuit_breaker_rejections_total{target} counts
// the calls it refused without trying.
void SetCircuitOpen(absl::string_view target, bool open);
void RecordCircuitRejection(absl::string_view target);

// Runs `sample` every `interval` on a thread of its own (the first run at once), e.g. a Redis
// count for a gauge. `sample` may block; it is never run concurrently with itself. Stops and joins
// when destroyed.
class PeriodicSampler {
 public:
  PeriodicSampler(absl::Duration interval, std::function<void()> sample);
  ~PeriodicSampler();
  PeriodicSampler(const PeriodicSampler&) = delete;
  PeriodicSampler& operator=(const PeriodicSampler&) = delete;

 private:
  void Loop();

  const absl::Duration interval_;
  const std::function<void()> sample_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_METRICS_H_
