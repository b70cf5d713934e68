#ifndef LIVECALL_SERVICES_GATEWAY_BACKEND_CLIENT_H_
#define LIVECALL_SERVICES_GATEWAY_BACKEND_CLIENT_H_

// Unary gRPC calls to the backends with serialized messages, so the gateway needs no generated
// stub per RPC: the route table names the method ("/livecall.v1.AiSession/StartSession") and the
// bytes are the request message. Calls use gRPC's callback API and never block the caller.

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
  // Starts the call and returns at once; `done` runs exactly once, on a gRPC thread (or inline
  // when the call cannot start). `done` must not block.
  virtual void Call(BackendRequest request, BackendCallback done) = 0;
};

// One channel and one GenericStub per backend service.
class GrpcBackendClient : public BackendClient {
 public:
  // `channels`: service full name → channel (from common's MakePeerChannel).
  explicit GrpcBackendClient(
      absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels);

  void Call(BackendRequest request, BackendCallback done) override;

 private:
  struct Backend {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  // Written only in the constructor; read concurrently afterwards.
  absl::flat_hash_map<std::string, Backend> backends_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_BACKEND_CLIENT_H_
