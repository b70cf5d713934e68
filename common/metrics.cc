#include "common/metrics.h"

#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <iterator>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace livecall {
namespace {

double Seconds(absl::Duration elapsed) { return absl::ToDoubleSeconds(elapsed); }

// The metric of one label set, resolved once. prometheus-cpp's Family::Add builds a std::map of
// the labels, checks every name, hashes them and locks the family on each call: on the paths
// recorded per RPC and per Redis command that was several µs and a dozen allocations each time.
// Label sets here are bounded (methods, commands, status codes, targets), so is the cache.
template <typename Metric>
class ResolvedMetrics {
 public:
  template <typename Resolve>
  Metric& Get(absl::string_view key, Resolve resolve) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = metrics_.find(key);
      if (it != metrics_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = metrics_.try_emplace(std::string(key), nullptr);
    if (inserted) it->second = &resolve();
    return *it->second;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Metric*> metrics_ ABSL_GUARDED_BY(mu_);
};

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

namespace {

prometheus::Family<prometheus::Counter>& GrpcServerHandledFamily() {
  static auto& handled =
      CounterFamily("livecall_grpc_server_handled_total", "gRPC calls completed by this server.");
  return handled;
}

prometheus::Family<prometheus::Histogram>& GrpcServerHandlingFamily() {
  static auto& handling = HistogramFamily("livecall_grpc_server_handling_seconds",
                                          "Time from a gRPC call's arrival to its status.");
  return handling;
}

prometheus::Histogram& AddGrpcServerHandling(absl::string_view service, absl::string_view method) {
  return GrpcServerHandlingFamily().Add(
      {{"grpc_service", std::string(service)}, {"grpc_method", std::string(method)}},
      LatencyBuckets());
}

prometheus::Counter& AddGrpcServerHandled(absl::string_view service, absl::string_view method,
                                          absl::string_view code) {
  return GrpcServerHandledFamily().Add({{"grpc_service", std::string(service)},
                                        {"grpc_method", std::string(method)},
                                        {"grpc_code", std::string(code)}});
}

}  // namespace

void RecordGrpcServerRpc(absl::string_view service, absl::string_view method,
                         absl::string_view code, absl::Duration elapsed) {
  static auto* handled_by_key = new ResolvedMetrics<prometheus::Counter>();
  static auto* handling_by_key = new ResolvedMetrics<prometheus::Histogram>();
  const std::string method_key = absl::StrCat(service, "/", method);
  handling_by_key
      ->Get(method_key,
            [&]() -> prometheus::Histogram& { return AddGrpcServerHandling(service, method); })
      .Observe(Seconds(elapsed));
  handled_by_key
      ->Get(absl::StrCat(method_key, " ", code),
            [&]() -> prometheus::Counter& { return AddGrpcServerHandled(service, method, code); })
      .Increment();
}

absl::string_view GrpcStatusCodeName(int code) {
  static constexpr absl::string_view kNames[] = {"OK",
                                                 "CANCELLED",
                                                 "UNKNOWN",
                                                 "INVALID_ARGUMENT",
                                                 "DEADLINE_EXCEEDED",
                                                 "NOT_FOUND",
                                                 "ALREADY_EXISTS",
                                                 "PERMISSION_DENIED",
                                                 "RESOURCE_EXHAUSTED",
                                                 "FAILED_PRECONDITION",
                                                 "ABORTED",
                                                 "OUT_OF_RANGE",
                                                 "UNIMPLEMENTED",
                                                 "INTERNAL",
                                                 "UNAVAILABLE",
                                                 "DATA_LOSS",
                                                 "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "";
  return kNames[code];
}

GrpcServerMethodMetrics::GrpcServerMethodMetrics(absl::string_view service,
                                                 absl::string_view method)
    : service_(service), method_(method) {}

void GrpcServerMethodMetrics::Record(int code, absl::Duration elapsed) {
  if (code < 0 || code >= kCodes) {
    RecordGrpcServerRpc(service_, method_, GrpcStatusCodeName(code), elapsed);
    return;
  }
  prometheus::Histogram* handling = handling_.load(std::memory_order_acquire);
  if (handling == nullptr) {
    handling = &AddGrpcServerHandling(service_, method_);
    handling_.store(handling, std::memory_order_release);
  }
  handling->Observe(Seconds(elapsed));
  std::atomic<prometheus::Counter*>& slot = handled_by_code_[code];
  prometheus::Counter* handled = slot.load(std::memory_order_acquire);
  if (handled == nullptr) {
    handled = &AddGrpcServerHandled(service_, method_, GrpcStatusCodeName(code));
    slot.store(handled, std::memory_order_release);
  }
  handled->Increment();
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
  static auto* duration_by_command = new ResolvedMetrics<prometheus::Histogram>();
  duration_by_command
      ->Get(command,
            [&]() -> prometheus::Histogram& {
              return duration.Add({{"command", std::string(command)}}, LatencyBuckets());
            })
      .Observe(Seconds(elapsed));
  if (!error_code.empty()) {
    errors.Add({{"command", std::string(command)}, {"code", std::string(error_code)}}).Increment();
  }
}

void RecordHttpClientRequest(absl::string_view target, absl::Duration elapsed,
                             absl::string_view outcome) {
  static auto& duration = HistogramFamily("livecall_http_client_request_duration_seconds",
                                          "Outbound HTTP requests (LLM, Twilio, CRM), by target.");
  static auto& requests =
      CounterFamily("livecall_http_client_requests_total",
                    "Outbound HTTP requests by target and outcome (status class or error code).");
  static auto* duration_by_target = new ResolvedMetrics<prometheus::Histogram>();
  static auto* requests_by_key = new ResolvedMetrics<prometheus::Counter>();
  duration_by_target
      ->Get(target,
            [&]() -> prometheus::Histogram& {
              return duration.Add({{"target", std::string(target)}}, LatencyBuckets());
            })
      .Observe(Seconds(elapsed));
  requests_by_key
      ->Get(absl::StrCat(target, " ", outcome),
            [&]() -> prometheus::Counter& {
              return requests.Add(
                  {{"target", std::string(target)}, {"outcome", std::string(outcome)}});
            })
      .Increment();
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
