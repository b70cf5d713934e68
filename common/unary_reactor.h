#ifndef LIVECALL_COMMON_UNARY_REACTOR_H_
#define LIVECALL_COMMON_UNARY_REACTOR_H_

// Runs a unary callback-API RPC's work on an Executor and finishes the reactor from there, so the
// blocking parts (Redis, peers' RPCs, HTTP) never run on gRPC's own callback threads. Every RPC is
// finished exactly once, with the work's status. The work runs with the caller's x-request-id as
// the thread's (request_id.h), so the peers it calls log the same id.

#include <grpcpp/grpcpp.h>

#include <utility>

#include "common/executor.h"
#include "common/request_id.h"
#include "common/status.h"

namespace livecall {

template <typename Work>
grpc::ServerUnaryReactor* FinishOnExecutor(grpc::CallbackServerContext* context, Executor& executor,
                                           Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor.Submit([reactor, work = std::move(work), request_id = RequestIdOf(*context)]() mutable {
    absl::Status status;
    {
      ScopedRequestId scope(std::move(request_id));
      status = work();
    }
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_UNARY_REACTOR_H_
