// The floor of a unary gRPC answer on this machine, with gRPC's two server APIs: a generic
// service that answers every call with an empty message and does nothing else.
//   livecall-bench-grpc-floor ADDRESS callback    the callback API, as the services serve today
//   livecall-bench-grpc-floor ADDRESS cq          the async completion-queue API, one thread that
//                                                 polls its queue and answers in place
//   livecall-bench-grpc-floor ADDRESS sync        the synchronous API: gRPC's polling threads run
//                                                 the handler in place (and may block in it)
// With Debian's gRPC 1.51 on Linux, the callback API runs every callback through a process-global
// completion queue served by "nexting" threads (CompletionQueue::CallbackAlternativeCQ), so an RPC
// takes thread hand-offs that the completion-queue API does not. bench/run's `grpcfloor` scenario
// drives both with h2load and reports CPU and context switches per RPC (bench/README.md).
// FLOOR_SERVER_ARGS="name=value,..." sets channel arguments (integers, or strings) on the server,
// to measure one of gRPC's options at a time (with livecall-bench-grpc-client-floor as the client).
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/server_callback.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "floor_args.h"

namespace {

grpc::ByteBuffer EmptyMessage() {
  grpc::Slice empty{std::string()};
  return grpc::ByteBuffer(&empty, 1);
}

class EmptyAnswer : public grpc::ServerGenericBidiReactor {
 public:
  EmptyAnswer() : reply_(EmptyMessage()) { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    StartWriteAndFinish(&reply_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
};

class CallbackFloor : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new EmptyAnswer;
  }
};

// The synchronous API has no generic service: one method of raw bytes, registered by hand.
class SyncFloor : public grpc::Service {
 public:
  SyncFloor() {
    AddMethod(new grpc::internal::RpcServiceMethod(
        "/livecall.bench.Floor/Answer", grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<SyncFloor, grpc::ByteBuffer, grpc::ByteBuffer>(
            [](SyncFloor*, grpc::ServerContext*, const grpc::ByteBuffer*, grpc::ByteBuffer* reply) {
              *reply = EmptyMessage();
              return grpc::Status::OK;
            },
            this)));
  }
};

// One call of the completion-queue server: requested, then its message read, then answered.
struct QueuedCall {
  enum class Step { kRequested, kRead, kAnswered };
  grpc::GenericServerContext context;
  grpc::GenericServerAsyncReaderWriter stream{&context};
  grpc::ByteBuffer request;
  grpc::ByteBuffer reply = EmptyMessage();
  Step step = Step::kRequested;
};

void ServeFromQueue(grpc::AsyncGenericService& service, grpc::ServerCompletionQueue& queue) {
  auto request_call = [&] {
    auto* call = new QueuedCall;
    service.RequestCall(&call->context, &call->stream, &queue, &queue, call);
  };
  // A few calls requested ahead, so a burst finds one waiting.
  for (int i = 0; i < 8; ++i) request_call();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
    auto* call = static_cast<QueuedCall*>(tag);
    if (!ok && call->step == QueuedCall::Step::kRead) {
      // The client sent no message: answered all the same, with nothing.
      call->step = QueuedCall::Step::kAnswered;
      call->stream.Finish(grpc::Status::OK, call);
      continue;
    }
    // Not ok: the server is shutting down. Answered: the call is over.
    if (!ok || call->step == QueuedCall::Step::kAnswered) {
      delete call;
      continue;
    }
    if (call->step == QueuedCall::Step::kRequested) {
      request_call();
      call->step = QueuedCall::Step::kRead;
      call->stream.Read(&call->request, call);
    } else {
      call->step = QueuedCall::Step::kAnswered;
      call->stream.WriteAndFinish(call->reply, grpc::WriteOptions(), grpc::Status::OK, call);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string api = argc > 2 ? argv[2] : "";
  if (argc != 3 || (api != "callback" && api != "cq" && api != "sync")) {
    std::fprintf(stderr, "usage: %s ADDRESS callback|cq|sync\n", argv[0]);
    return 2;
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(argv[1], grpc::InsecureServerCredentials());
  ForEachFloorArg(
      "FLOOR_SERVER_ARGS",
      [&](const std::string& name, int value) { builder.AddChannelArgument(name, value); },
      [&](const std::string& name, const std::string& value) {
        builder.AddChannelArgument(name, value);
      });
  CallbackFloor callback_service;
  grpc::AsyncGenericService queued_service;
  SyncFloor sync_service;
  std::unique_ptr<grpc::ServerCompletionQueue> queue;
  if (api == "callback") {
    builder.RegisterCallbackGenericService(&callback_service);
  } else if (api == "sync") {
    builder.RegisterService(&sync_service);
  } else {
    builder.RegisterAsyncGenericService(&queued_service);
    queue = builder.AddCompletionQueue();
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "cannot listen on %s\n", argv[1]);
    return 1;
  }
  if (queue != nullptr) {
    ServeFromQueue(queued_service, *queue);
  } else {
    server->Wait();
  }
  return 0;
}
