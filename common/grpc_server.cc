#include "common/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/caller_identity.h"
#include "common/grpc_observability.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/queued_unary.h"
#include "common/request_id.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace livecall {
namespace {

// grpc.health.v1.Health with Check queued (see ServeGrpcUntilSignal) and Watch left to the
// generated default, UNIMPLEMENTED.
class QueuedHealth final
    : public QueuedService<grpc::health::v1::Health, grpc::health::v1::Health::Service> {
 public:
  QueuedHealth() { MarkQueued("Check"); }
};

}  // namespace

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

absl::Status ServeGrpcUntilSignal(const GrpcServerOptions& options) {
  std::unique_ptr<MetricsExposer> metrics;
  if (!options.metrics_address.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsExposer>> started =
        MetricsExposer::Start(options.metrics_address);
    if (!started.ok()) return started.status();
    metrics = *std::move(started);
    LogInfo("metrics", {{"addr", options.metrics_address},
                        {"port", absl::StrCat(metrics->port())},
                        {"path", "/metrics"}});
  }
  InstallGrpcCallerAuthenticator(options.auth);
  // With queued methods, grpc.health.v1.Health/Check is one of them: gRPC's own health service
  // is a callback-API service, and any callback-API service starts gRPC's "nexting" threads, which
  // poll the same sockets as the queues' threads and hand them events (3.9 thread switches each
  // per ai-session start, measured). Watch is then not served (UNIMPLEMENTED); Kubernetes'
  // probes and the gateway's readiness use Check.
  std::atomic<bool> serving{false};
  grpc::EnableDefaultHealthCheckService(options.queued == nullptr);
  QueuedHealth queued_health;
  if (options.queued != nullptr) {
    options.queued->Handle<grpc::health::v1::HealthCheckRequest,
                           grpc::health::v1::HealthCheckResponse>(
        "/grpc.health.v1.Health/Check",
        [&serving](const CallerIdentity&, grpc::ServerContextBase&,
                   const grpc::health::v1::HealthCheckRequest& request,
                   grpc::health::v1::HealthCheckResponse& response) -> absl::Status {
          // As gRPC's own service: the server as a whole; no service is named one by one.
          if (!request.service().empty()) {
            return absl::NotFoundError(absl::StrCat("no health status for ", request.service()));
          }
          response.set_status(serving.load() ? grpc::health::v1::HealthCheckResponse::SERVING
                                             : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
          return absl::OkStatus();
        },
        QueuedAccess::kPublic);
  }
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(), &selected_port);
  // Let clients keep idle connections alive with pings every 10 s or more.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  for (grpc::Service* service : options.services) builder.RegisterService(service);
  if (options.queued != nullptr) builder.RegisterService(&queued_health);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewObservabilityInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  if (options.queued != nullptr) options.queued->AddTo(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.address));
  }
  if (options.queued != nullptr) options.queued->Start();
  serving = true;
  if (grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  LogInfo("listening", {{"addr", options.address}, {"port", absl::StrCat(selected_port)}});

  int signal_number = WaitForShutdownSignal();
  LogInfo("draining", {{"signal", absl::StrCat(signal_number)}});
  serving = false;
  if (grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  if (options.on_drain) options.on_drain();
  server->Shutdown(absl::ToChronoTime(absl::Now() + options.drain_timeout));
  server->Wait();
  // Only now: the queues are polled until every call has been answered or cancelled.
  if (options.queued != nullptr) options.queued->Stop();
  LogInfo("stopped");
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> MakePeerChannel(const std::string& address,
                                               const std::string& api_key) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Reconnect quickly after a peer restarts (rolling updates, tests that restart a service).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetServiceConfigJSON(R"({"loadBalancingConfig":[{"round_robin":{}}]})");
  // No retry filter on the calls: no service config names a retry policy, so all it did was
  // buffer each call's messages for a replay that never came, 8.2k of ~66k instructions per
  // unary call (bench/loadgen/grpc_client_floor.cc under callgrind). What it also did, replaying
  // a call that never reached the server, is left to gRPC 1.51's two-step GOAWAY, which stops new
  // calls on a draining connection before it refuses any.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  SetPeerApiKey(api_key);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void PreparePeerCall(grpc::ClientContext* context, absl::Time deadline,
                     absl::string_view request_id) {
  context->set_deadline(absl::ToChronoTime(deadline));
  if (!request_id.empty()) context->AddMetadata(kRequestIdMetadata, std::string(request_id));
  AddPeerApiKey(context);
}

}  // namespace livecall
