#ifndef LIVECALL_COMMON_GRPC_SERVER_H_
#define LIVECALL_COMMON_GRPC_SERVER_H_

// The part of every gRPC service's main() that is the same everywhere: build the server with the
// grpc.health.v1 health service, server reflection and the observability interceptor (metrics and
// one log line per RPC, common/grpc_observability.h), serve /metrics on its own port, serve until
// SIGTERM or SIGINT, then drain:
// report NOT_SERVING, stop accepting, let in-flight RPCs finish within the grace period, exit.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"

namespace livecall {

class QueuedUnaryMethods;

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts later, so that
// WaitForShutdownSignal() can take them synchronously. Call first thing in main().
void BlockShutdownSignals();

// Waits for SIGTERM or SIGINT; returns the signal number.
int WaitForShutdownSignal();

struct GrpcServerOptions {
  std::string address;
  std::vector<grpc::Service*> services;
  // The services' unary methods served from completion queues (common/queued_unary.h); null when
  // every method is on the callback API.
  QueuedUnaryMethods* queued = nullptr;
  // Where GET /metrics is served (common/metrics.h); empty: not served.
  std::string metrics_address;
  absl::Duration drain_timeout = absl::Seconds(10);
  // Runs after the signal, before the server stops accepting (e.g. stop background loops).
  std::function<void()> on_drain;
  // Which API keys the services accept (installed with InstallGrpcCallerAuthenticator).
  GrpcAuthConfig auth;
};

// Serves until a shutdown signal; OK after a clean drain. BlockShutdownSignals() must have run.
absl::Status ServeGrpcUntilSignal(const GrpcServerOptions& options);

// A channel to a peer service with keepalive; "dns:///name:port" targets balance per call
// (round_robin over a headless Service's addresses). `api_key` becomes the process's peer key
// (SetPeerApiKey, common/caller_identity.h), which PreparePeerCall sends with every call: a
// process has one key (LIVECALL_GRPC_API_KEY) for all of its peers.
std::shared_ptr<grpc::Channel> MakePeerChannel(const std::string& address,
                                               const std::string& api_key);

// Sets what every call to a peer carries on its (never reused) ClientContext: the deadline,
// `request_id` as x-request-id (none when empty) and the process's peer key as x-api-key (none
// while it is empty, i.e. LIVECALL_AUTH=off). Plain per-call metadata rather than a client
// interceptor on the channel: an interceptor sends every call of the channel through gRPC's
// interception machinery, about 9,000 more instructions a call (bench/README.md, issue 17).
void PreparePeerCall(grpc::ClientContext* context, absl::Time deadline,
                     absl::string_view request_id);

}  // namespace livecall

#endif  // LIVECALL_COMMON_GRPC_SERVER_H_
