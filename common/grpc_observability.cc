#include "common/grpc_observability.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>

#include <charconv>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"

namespace livecall {
namespace {

using grpc::experimental::InterceptionHookPoints;

// What the interceptor needs of a method, worked out once per method: ParseRpcName looks the
// service up in the descriptor pool (a lock and a hash) and each log line needs the joined name.
struct MethodInfo {
  explicit MethodInfo(RpcName rpc_name)
      : name(std::move(rpc_name)),
        log_name(absl::StrCat(name.service, "/", name.method)),
        routine(absl::StartsWith(name.service, "grpc.")),
        metrics(name.service, name.method) {}

  const RpcName name;
  const std::string log_name;  // "service/method"
  const bool routine;          // gRPC's own services (health, reflection): logged at debug level
  GrpcServerMethodMetrics metrics;
};

MethodInfo& MethodInfoFor(absl::string_view path) {
  static absl::Mutex mu;
  // Only methods a linked proto declares are kept, so the map is bounded by the contract.
  static auto* known = new absl::flat_hash_map<std::string, std::unique_ptr<MethodInfo>>();
  static MethodInfo* unknown = new MethodInfo({"unknown", "unknown"});
  {
    absl::ReaderMutexLock lock(&mu);
    auto it = known->find(path);
    if (it != known->end()) return *it->second;
  }
  RpcName name = ParseRpcName(path);
  if (name.service == "unknown") return *unknown;
  auto info = std::make_unique<MethodInfo>(std::move(name));
  absl::MutexLock lock(&mu);
  auto [it, inserted] = known->try_emplace(std::string(path), std::move(info));
  return *it->second;
}

absl::string_view MetadataValue(const grpc::ServerContextBase& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return absl::string_view(it->second.data(), it->second.size());
}

// Lives as long as the RPC. Records the call once: when its status is sent, or at destruction for
// a call that ended without one (cancelled by the client, server shut down).
class ObservabilityInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ObservabilityInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info),
        // A call asked for from a completion queue (common/queued_unary.h) that the server's
        // shutdown ended before any came has no method: there was no RPC to record.
        asked_only_(info->method() == nullptr || *info->method() == '\0'),
        method_(MethodInfoFor(asked_only_ ? "" : info->method())),
        start_(absl::Now()) {
    if (!asked_only_) GrpcServerInFlight().Increment();
  }

  ~ObservabilityInterceptor() override {
    if (asked_only_) return;
    if (!recorded_) Record(grpc::Status(grpc::StatusCode::CANCELLED, "ended without a status"));
    GrpcServerInFlight().Decrement();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !recorded_) {
      Record(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  // Nothing here copies a string: the method's metrics and names were resolved with MethodInfo,
  // the code's name is a constant, and the log line borrows the request id from the metadata.
  void Record(const grpc::Status& status) {
    recorded_ = true;
    const absl::Duration elapsed = absl::Now() - start_;
    const int code_number = static_cast<int>(status.error_code());
    method_.metrics.Record(code_number, elapsed);
    const absl::string_view code = GrpcStatusCodeName(code_number);
    absl::string_view request_id;
    if (info_->server_context() != nullptr) {
      request_id = MetadataValue(*info_->server_context(), "x-request-id");
    }
    if (request_id.empty()) request_id = "-";
    char duration_ms[24];
    const absl::string_view duration(duration_ms,
                                     std::to_chars(duration_ms, duration_ms + sizeof(duration_ms),
                                                   absl::ToInt64Milliseconds(elapsed))
                                             .ptr -
                                         duration_ms);
    if (status.ok()) {
      LogViews(method_.routine ? LogLevel::kDebug : LogLevel::kInfo, "rpc",
               {{"method", method_.log_name},
                {"code", code},
                {"duration_ms", duration},
                {"request_id", request_id}});
    } else {
      LogViews(LogLevel::kInfo, "rpc",
               {{"method", method_.log_name},
                {"code", code},
                {"duration_ms", duration},
                {"request_id", request_id},
                {"error", status.error_message()}});
    }
  }

  grpc::experimental::ServerRpcInfo* const info_;
  const bool asked_only_;
  MethodInfo& method_;
  const absl::Time start_;
  bool recorded_ = false;
};

class ObservabilityInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ObservabilityInterceptor(info);
  }
};

}  // namespace

RpcName ParseRpcName(absl::string_view path) {
  absl::string_view rest = path;
  if (absl::ConsumePrefix(&rest, "/")) {
    const size_t slash = rest.find('/');
    if (slash != absl::string_view::npos) {
      const std::string service(rest.substr(0, slash));
      const std::string method(rest.substr(slash + 1));
      // gRPC's own health service is not built from a protobuf descriptor in this pool.
      if (service == "grpc.health.v1.Health" && (method == "Check" || method == "Watch")) {
        return {service, method};
      }
      const google::protobuf::ServiceDescriptor* descriptor =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
      if (descriptor != nullptr && descriptor->FindMethodByName(method) != nullptr) {
        return {service, method};
      }
    }
  }
  return {"unknown", "unknown"};
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewObservabilityInterceptorFactory() {
  return std::make_unique<ObservabilityInterceptorFactory>();
}

}  // namespace livecall
