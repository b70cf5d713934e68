#include "services/gateway/backend_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_server.h"

namespace livecall::gateway {
namespace {

// Everything one call needs alive until its completion runs: gRPC keeps pointers to the context
// and both buffers for the call's lifetime.
struct CallState {
  explicit CallState(PendingCalls* calls) : pending(calls) {}
  // First, so destroyed last: the client's destructor waits until the context (which holds the
  // call and a reference to the channel) is gone.
  PendingCalls::Guard pending;
  absl::Time deadline;
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  BackendCallback done;
};

// gRPC's deadline timer may fire a little before our clock reads the deadline.
constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(50);

std::string Flatten(const grpc::ByteBuffer& buffer) {
  // A small reply arrives as one slice: one copy, no slice vector.
  if (grpc::Slice single; buffer.TrySingleSlice(&single).ok()) {
    return std::string(reinterpret_cast<const char*>(single.begin()), single.size());
  }
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

GrpcBackendClient::GrpcBackendClient(std::vector<BackendTarget> targets,
                                     CircuitBreaker::Options breaker) {
  for (BackendTarget& target : targets) {
    auto backend = std::make_unique<Backend>();
    backend->name = target.name;
    backend->stub = std::make_unique<grpc::GenericStub>(target.channel);
    backend->channel = std::move(target.channel);
    backend->breaker = std::make_unique<CircuitBreaker>(target.name, breaker);
    for (const std::string& service : target.services) by_service_[service] = backend.get();
    backends_.push_back(std::move(backend));
  }
}

GrpcBackendClient::~GrpcBackendClient() {
  // gRPC destroys each completion, and the call state it holds, on its own thread after the
  // completion answered; the channels, stubs and breakers go only once every one is gone.
  pending_.WaitUntilNone();
}

void GrpcBackendClient::Call(BackendRequest request, BackendCallback done) {
  auto it = by_service_.find(request.service);
  if (it == by_service_.end()) {
    done(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      absl::StrCat("no backend configured for ", request.service)),
         std::string());
    return;
  }
  Backend* backend = it->second;
  if (absl::Status allowed = backend->breaker->Allow(); !allowed.ok()) {
    // Known to be down: refused without waiting for the channel or the deadline.
    done(grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(allowed.message())),
         std::string());
    return;
  }
  auto state = std::make_shared<CallState>(&pending_);
  state->done = std::move(done);
  state->deadline = absl::Now() + request.deadline;
  // The request id is among the request's metadata, which the stages fill in.
  PreparePeerCall(&state->context, state->deadline, /*request_id=*/"");
  for (const auto& [key, value] : request.metadata) state->context.AddMetadata(key, value);
  grpc::Slice slice(request.payload);
  state->request = grpc::ByteBuffer(&slice, 1);
  backend->stub->UnaryCall(
      &state->context, request.method_path, grpc::StubOptions(), &state->request, &state->response,
      [state, backend](grpc::Status status) {
        // Not reached: no connection to the backend, or no answer within our deadline. An
        // UNAVAILABLE over a READY channel, or a DEADLINE_EXCEEDED before our deadline, is the
        // backend's own answer (a dependency of its own is down or late): the backend is up.
        const bool unreachable =
            (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
             absl::Now() >= state->deadline - kDeadlineSlack) ||
            (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
             backend->channel->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY);
        if (unreachable) {
          backend->breaker->RecordFailure();
          status = grpc::Status(
              status.error_code(),
              status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                  ? absl::StrCat(backend->name, " did not answer within the deadline")
                  : absl::StrCat(backend->name, " is unavailable: ", status.error_message()));
        } else {
          backend->breaker->RecordSuccess();
        }
        std::string payload;
        if (status.ok()) payload = Flatten(state->response);
        state->done(status, std::move(payload));
      });
}

}  // namespace livecall::gateway
