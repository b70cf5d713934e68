#include "services/gateway/backend_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace livecall::gateway {
namespace {

// Everything one call needs alive until its completion runs: gRPC keeps pointers to the context
// and both buffers for the call's lifetime.
struct CallState {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  BackendCallback done;
};

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

}  // namespace

GrpcBackendClient::GrpcBackendClient(
    absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels) {
  for (auto& [service, channel] : channels) {
    Backend backend;
    backend.stub = std::make_unique<grpc::GenericStub>(channel);
    backend.channel = std::move(channel);
    backends_.emplace(service, std::move(backend));
  }
}

void GrpcBackendClient::Call(BackendRequest request, BackendCallback done) {
  auto it = backends_.find(request.service);
  if (it == backends_.end()) {
    done(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      absl::StrCat("no backend configured for ", request.service)),
         std::string());
    return;
  }
  auto state = std::make_shared<CallState>();
  state->done = std::move(done);
  state->context.set_deadline(absl::ToChronoTime(absl::Now() + request.deadline));
  for (const auto& [key, value] : request.metadata) state->context.AddMetadata(key, value);
  grpc::Slice slice(request.payload);
  state->request = grpc::ByteBuffer(&slice, 1);
  it->second.stub->UnaryCall(&state->context, request.method_path, grpc::StubOptions(),
                             &state->request, &state->response, [state](grpc::Status status) {
                               std::string payload;
                               if (status.ok()) payload = Flatten(state->response);
                               state->done(status, std::move(payload));
                             });
}

}  // namespace livecall::gateway
