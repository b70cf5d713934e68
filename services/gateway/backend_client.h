#ifndef LIVECALL_SERVICES_GATEWAY_BACKEND_CLIENT_H_
#define LIVECALL_SERVICES_GATEWAY_BACKEND_CLIENT_H_

// Unary gRPC calls to the backends with serialized messages, so the gateway needs no generated
// stub per RPC: the route table names the method ("/livecall.v1.AiSession/StartSession") and the
// bytes are the request message. Calls finish on the gateway's own completion queues
// (client_queues.h), not on gRPC's callback API, and never block the caller.
//
// Each backend (one channel: call-control, ai-session, context) has a circuit breaker
// (common/circuit_breaker.h): after consecutive failures to reach it — the channel cannot connect
// (UNAVAILABLE while the channel is not READY) or no answer within the deadline — calls are
// refused at once with UNAVAILABLE "<backend> is unavailable: …" (HTTP 503) instead of each
// waiting for the channel or the deadline, and one probe a second finds the backend again. An
// UNAVAILABLE or DEADLINE_EXCEEDED that the backend itself answered (its own dependency is down or
// late) is an answer, not a failure to reach it.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/circuit_breaker.h"
#include "common/pending_calls.h"
#include "services/gateway/client_queues.h"

namespace livecall::gateway {

struct BackendRequest {
  std::string service;      // "livecall.v1.AiSession"
  std::string method_path;  // "/livecall.v1.AiSession/StartSession"
  std::string payload;      // The serialized request message.
  std::vector<std::pair<std::string, std::string>> metadata;  // Lower-case keys.
  absl::Duration deadline = absl::Seconds(5);
};

// `status` and, when it is OK, the serialized response message.
using BackendCallback = std::function<void(const grpc::Status& status, std::string payload)>;

class BackendClient {
 public:
  virtual ~BackendClient() = default;
  // Starts the call and returns at once; `done` runs exactly once, on a completion queue's thread
  // (or inline when the call cannot start). `done` must not block.
  virtual void Call(BackendRequest request, BackendCallback done) = 0;
};

// One backend process (a channel) and the gRPC services it serves.
struct BackendTarget {
  // Names the backend in errors and metrics (livecall_circuit_breaker_open{target}):
  // "call-control", "ai-session", "context".
  std::string name;
  std::shared_ptr<grpc::Channel> channel;
  // Full names: "livecall.v1.CallControl", "livecall.v1.TwilioWebhooks", ...
  std::vector<std::string> services;
};

// One channel, GenericStub and circuit breaker per backend; the calls finish on `queues`.
class GrpcBackendClient : public BackendClient {
 public:
  GrpcBackendClient(std::vector<BackendTarget> targets, std::shared_ptr<ClientQueues> queues,
                    CircuitBreaker::Options breaker = {});
  // Waits until the state of every call started is gone (each ends by its deadline).
  ~GrpcBackendClient() override;

  void Call(BackendRequest request, BackendCallback done) override;

 private:
  struct Backend {
    std::string name;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
    std::unique_ptr<CircuitBreaker> breaker;
  };
  // One call in flight: the queue's tag (backend_client.cc).
  class CallState;

  // First: destroyed after every call's state is gone (pending_, last).
  std::shared_ptr<ClientQueues> queues_;
  // Written only in the constructor; read concurrently afterwards (each breaker locks itself).
  std::vector<std::unique_ptr<Backend>> backends_;
  absl::flat_hash_map<std::string, Backend*> by_service_;
  PendingCalls pending_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_BACKEND_CLIENT_H_
