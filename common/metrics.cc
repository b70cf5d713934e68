#include "common/metrics.h"

#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace livecall {
namespace {

double Seconds(absl::Duration elapsed) { return absl::ToDoubleSeconds(elapsed); }

}  // namespace

prometheus::Family<prometheus::Counter>& CounterFamily(const std::string& name,
                                                       const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(MetricsRegistry());
}

prometheus::Family<prometheus::Histogram>& HistogramFamily(const std::string& name,
                                                           const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(MetricsRegistry());
}

prometheus::Gauge& SingleGauge(const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(MetricsRegistry()).Add({});
}

std::shared_ptr<prometheus::Registry> SharedMetricsRegistry() {
  static auto* registry =
      new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  return *registry;
}

prometheus::Registry& MetricsRegistry() {
  static prometheus::Registry* registry = SharedMetricsRegistry().get();
  return *registry;
}

void RegisterProcessMetrics(absl::string_view service_name) {
  prometheus::BuildGauge()
      .Name("livecall_build_info")
      .Help("Always 1; labels name the process.")
      .Register(MetricsRegistry())
      .Add({{"service", std::string(service_name)}})
      .Set(1);
}

std::string SerializeMetrics() {
  return prometheus::TextSerializer().Serialize(MetricsRegistry().Collect());
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *buckets;
}

MetricsExposer::MetricsExposer(std::unique_ptr<prometheus::Exposer> exposer, int port)
    : exposer_(std::move(exposer)), port_(port) {}

MetricsExposer::~MetricsExposer() = default;

absl::StatusOr<std::unique_ptr<MetricsExposer>> MetricsExposer::Start(const std::string& address) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // One thread is plenty for a scrape every few seconds.
    exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer->RegisterCollectable(SharedMetricsRegistry());
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address));
  }
  return std::unique_ptr<MetricsExposer>(new MetricsExposer(std::move(exposer), ports.front()));
}

std::string ReadMetricsAddress(EnvReader& env, const char* variable,
                               absl::string_view default_address) {
  return env.Address(variable, default_address);
}

void RecordGrpcServerRpc(absl::string_view service, absl::string_view method,
                         absl::string_view code, absl::Duration elapsed) {
  static auto& handled =
      CounterFamily("livecall_grpc_server_handled_total", "gRPC calls completed by this server.");
  static auto& handling = HistogramFamily("livecall_grpc_server_handling_seconds",
                                          "Time from a gRPC call's arrival to its status.");
  const std::string service_label(service);
  const std::string method_label(method);
  handled
      .Add({{"grpc_service", service_label},
            {"grpc_method", method_label},
            {"grpc_code", std::string(code)}})
      .Increment();
  handling.Add({{"grpc_service", service_label}, {"grpc_method", method_label}}, LatencyBuckets())
      .Observe(Seconds(elapsed));
}

prometheus::Gauge& GrpcServerInFlight() {
  static auto& gauge =
      SingleGauge("livecall_grpc_server_in_flight", "gRPC calls being handled right now.");
  return gauge;
}

void RecordRedisCommand(absl::string_view command, absl::Duration elapsed,
                        absl::string_view error_code) {
  static auto& duration = HistogramFamily("livecall_redis_command_duration_seconds",
                                          "Redis commands (a pipeline counts once), by command.");
  static auto& errors =
      CounterFamily("livecall_redis_command_errors_total", "Redis commands that failed.");
  const std::string command_label(command);
  duration.Add({{"command", command_label}}, LatencyBuckets()).Observe(Seconds(elapsed));
  if (!error_code.empty()) {
    errors.Add({{"command", command_label}, {"code", std::string(error_code)}}).Increment();
  }
}

void RecordHttpClientRequest(absl::string_view target, absl::Duration elapsed,
                             absl::string_view outcome) {
  static auto& duration = HistogramFamily("livecall_http_client_request_duration_seconds",
                                          "Outbound HTTP requests (LLM, Twilio, CRM), by target.");
  static auto& requests =
      CounterFamily("livecall_http_client_requests_total",
                    "Outbound HTTP requests by target and outcome (status class or error code).");
  const std::string target_label(target);
  duration.Add({{"target", target_label}}, LatencyBuckets()).Observe(Seconds(elapsed));
  requests.Add({{"target", target_label}, {"outcome", std::string(outcome)}}).Increment();
}

void SetCircuitOpen(absl::string_view target, bool open) {
  static auto& gauge =
      prometheus::BuildGauge()
          .Name("livecall_circuit_breaker_open")
          .Help("1 while the circuit breaker of a dependency refuses calls (it is known down).")
          .Register(MetricsRegistry());
  gauge.Add({{"target", std::string(target)}}).Set(open ? 1 : 0);
}

void RecordCircuitRejection(absl::string_view target) {
  static auto& rejections =
      CounterFamily("livecall_circuit_breaker_rejections_total",
                    "Calls refused at once because their dependency is known to be down.");
  rejections.Add({{"target", std::string(target)}}).Increment();
}

PeriodicSampler::PeriodicSampler(absl::Duration interval, std::function<void()> sample)
    : interval_(interval), sample_(std::move(sample)), thread_([this] { Loop(); }) {}

PeriodicSampler::~PeriodicSampler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void PeriodicSampler::Loop() {
  for (;;) {
    sample_();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), interval_);
    if (stopping_) return;
  }
}

}  // namespace livecall
