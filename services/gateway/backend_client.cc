#include "services/gateway/backend_client.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_server.h"

namespace livecall::gateway {
namespace {

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

// Everything one call needs alive until its answer is taken from the queue: gRPC keeps pointers
// to the context, the method path, both buffers and the status for the call's lifetime.
class GrpcBackendClient::CallState final : public ClientQueueTag {
 public:
  CallState(PendingCalls* calls, Backend* backend, BackendCallback done)
      : pending_(calls), backend_(backend), done_(std::move(done)) {}

  // Starts the call on `queue`; the answer comes back to OnQueued on the queue's thread.
  void Start(BackendRequest request, grpc::CompletionQueue* queue) {
    deadline_ = absl::Now() + request.deadline;
    // The request id is among the request's metadata, which the stages fill in.
    PreparePeerCall(&context_, deadline_, /*request_id=*/"");
    for (const auto& [key, value] : request.metadata) context_.AddMetadata(key, value);
    method_path_ = std::move(request.method_path);
    grpc::Slice slice(request.payload);
    request_ = grpc::ByteBuffer(&slice, 1);
    reader_ = backend_->stub->PrepareUnaryCall(&context_, method_path_, request_, queue);
    reader_->StartCall();
    reader_->Finish(&response_, &status_, static_cast<ClientQueueTag*>(this));
  }

  void OnQueued(bool /*ok: always true for a unary call's Finish*/) override {
    std::unique_ptr<CallState> self(this);
    grpc::Status status = std::move(status_);
    // Not reached: no connection to the backend, or no answer within our deadline. An
    // UNAVAILABLE over a READY channel, or a DEADLINE_EXCEEDED before our deadline, is the
    // backend's own answer (a dependency of its own is down or late): the backend is up.
    const bool unreachable =
        (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
         absl::Now() >= deadline_ - kDeadlineSlack) ||
        (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         backend_->channel->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY);
    if (unreachable) {
      backend_->breaker->RecordFailure();
      status = grpc::Status(
          status.error_code(),
          status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
              ? absl::StrCat(backend_->name, " did not answer within the deadline")
              : absl::StrCat(backend_->name, " is unavailable: ", status.error_message()));
    } else {
      backend_->breaker->RecordSuccess();
    }
    std::string payload;
    if (status.ok()) payload = Flatten(response_);
    // The reader lives in the call's arena, which the context releases: it goes first.
    reader_.reset();
    done_(status, std::move(payload));
  }

 private:
  // First, so destroyed last: the client's destructor waits until the context (which holds the
  // call and a reference to the channel) is gone.
  PendingCalls::Guard pending_;
  Backend* const backend_;
  absl::Time deadline_;
  grpc::ClientContext context_;
  std::string method_path_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader_;
  BackendCallback done_;
};

GrpcBackendClient::GrpcBackendClient(std::vector<BackendTarget> targets,
                                     std::shared_ptr<ClientQueues> queues,
                                     CircuitBreaker::Options breaker)
    : queues_(std::move(queues)) {
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
  // Each call's state is destroyed on its queue's thread after its `done` answered; the channels,
  // stubs, breakers and queues go only once every one is gone.
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
  auto* state = new CallState(&pending_, backend, std::move(done));
  state->Start(std::move(request), queues_->Pick());
}

}  // namespace livecall::gateway
