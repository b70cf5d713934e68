#ifndef LIVECALL_COMMON_UNARY_REACTOR_H_
#define LIVECALL_COMMON_UNARY_REACTOR_H_

// Runs a unary callback-API RPC's work on an Executor and finishes the reactor from there, so the
// blocking parts (Redis, peers' RPCs, HTTP) never run on gRPC's own callback threads. Every RPC is
// finished exactly once, with the work's status. The work runs with the caller's x-request-id as
// the thread's (request_id.h), so the peers it calls log the same id. Work that only waits for
// peers (no blocking library) needs no worker: FinishAsync (common/async_unary.h).
//
// The queue is bounded (Executor::TrySubmit): over it the RPC is refused at once with
// RESOURCE_EXHAUSTED (the gateway answers 429). An RPC whose deadline has passed, or that its
// client cancelled, while it waited for a worker is finished with DEADLINE_EXCEEDED / CANCELLED
// without doing the work: nobody waits for its answer any more.
//
// The caller is authenticated first (common/caller_identity.h: x-api-key, then the identity it
// forwards); a caller that is not gets UNAUTHENTICATED at once and the work never runs. Work that
// takes a `const CallerIdentity&` receives the caller, for its ownership checks.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/caller_identity.h"
#include "common/executor.h"
#include "common/request_id.h"
#include "common/status.h"

namespace livecall {

template <typename Work>
grpc::ServerUnaryReactor* FinishOnExecutor(grpc::CallbackServerContext* context, Executor& executor,
                                           Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<CallerIdentity> caller = AuthenticateCaller(*context);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  const bool queued = executor.TrySubmit([context, reactor, caller = *std::move(caller),
                                          work = std::move(work),
                                          request_id = RequestIdOf(*context)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the call"));
      return;
    }
    if (context->deadline() <= std::chrono::system_clock::now()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "the deadline passed while the request waited for a worker"));
      return;
    }
    absl::Status status;
    {
      ScopedRequestId scope(std::move(request_id));
      if constexpr (std::is_invocable_v<Work&, const CallerIdentity&>) {
        status = work(caller);
      } else {
        status = work();
      }
    }
    reactor->Finish(ToGrpcStatus(status));
  });
  if (!queued) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the server is busy (", executor.max_queued(), " requests queued); retry")));
  }
  return reactor;
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_UNARY_REACTOR_H_
