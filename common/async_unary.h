#ifndef LIVECALL_COMMON_ASYNC_UNARY_H_
#define LIVECALL_COMMON_ASYNC_UNARY_H_

// The asynchronous side of a unary RPC's work (QueuedUnaryMethods::HandleAsync,
// common/queued_unary.h): the work calls its peers without blocking (CallOnQueue on a polling
// thread, else the callback client API, `stub->async()->Method(...)`) and finishes the RPC from
// the completion of its last call, so no thread waits for a peer.
//
// The caller's x-request-id goes with every peer call the work makes (CallScope::Prepare), the
// RPC is finished exactly once (AsyncFinish), and an RPC whose client cancelled or whose deadline
// passed is answered CANCELLED / DEADLINE_EXCEEDED before the next peer call instead of doing
// more work nobody waits for (CallScope::StillWanted). Peer calls carry the sooner of their own
// deadline and the RPC's.
//
// The state of each peer call (PeerCall) holds a PendingCalls::Guard (common/pending_calls.h):
// gRPC destroys a completion, and the ClientContext it holds, after the completion has run
// (on its own thread for the callback API), so the owner of the stubs waits for every call to be
// released before its channels go.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"
#include "common/grpc_server.h"
#include "common/pending_calls.h"
#include "common/request_id.h"
#include "common/status.h"

namespace livecall {

// What a chain of peer calls made for one request carries along: the request id (no thread-local
// follows a chain from callback to callback), the request's deadline and, for an RPC, whether its
// client cancelled, which stops the chain.
class CallScope {
 public:
  // For work outside an RPC (tests, a worker): this thread's request id, no deadline of its own.
  static CallScope Detached() {
    return CallScope(CurrentRequestId(), absl::InfiniteFuture(), nullptr);
  }
  // For an RPC served from a completion queue (common/queued_unary.h): `cancelled` (null when the
  // queue does not watch for it) is set once the client has cancelled.
  static CallScope ForQueuedRpc(const grpc::ServerContextBase& context,
                                const std::atomic<bool>* cancelled) {
    return CallScope(RequestIdOf(context), absl::FromChrono(context.deadline()), cancelled);
  }

  const std::string& request_id() const { return request_id_; }

  // OK while somebody waits for the answer; CANCELLED when the client cancelled the RPC,
  // DEADLINE_EXCEEDED once its deadline has passed.
  absl::Status StillWanted() const {
    if (cancelled_ != nullptr && cancelled_->load(std::memory_order_relaxed)) {
      return absl::CancelledError("the client cancelled the call");
    }
    if (absl::Now() >= deadline_) {
      return absl::DeadlineExceededError("the deadline passed before the request was answered");
    }
    return absl::OkStatus();
  }

  // How long until the request's deadline: InfiniteDuration() without one.
  absl::Duration TimeLeft() const { return deadline_ - absl::Now(); }

  // A peer call made for this request (PreparePeerCall): the sooner of now + `budget` and the
  // request's deadline, the request id and the API key. True when `budget` is what bounds the
  // call: only then does a DEADLINE_EXCEEDED say that the peer was slow rather than that the
  // caller was in a hurry.
  bool Prepare(grpc::ClientContext* peer, absl::Duration budget) const {
    const absl::Time own = absl::Now() + budget;
    PreparePeerCall(peer, std::min(own, deadline_), request_id_);
    return own <= deadline_;
  }

 private:
  CallScope(std::string request_id, absl::Time deadline, const std::atomic<bool>* cancelled)
      : request_id_(std::move(request_id)), deadline_(deadline), cancelled_(cancelled) {}

  std::string request_id_;
  absl::Time deadline_;
  // Valid until the RPC is finished, which is the end of every chain made for it.
  const std::atomic<bool>* cancelled_;
};

// One unary peer call's state, alive until gRPC releases its completion.
template <typename Request, typename Response>
struct PeerCall {
  explicit PeerCall(PendingCalls* calls) : pending(calls) {}
  // First, so destroyed last: after the ClientContext, which holds the call and the channel.
  PendingCalls::Guard pending;
  grpc::ClientContext context;
  Request request;
  Response response;
};

// Finishes an RPC once. Copies share one answer: the first Finish answers; a chain that drops
// every copy without answering (a bug) answers INTERNAL rather than leaving the RPC, and the
// server's shutdown, hanging.
class AsyncFinish {
 public:
  // `answer` sends the RPC's answer; it is called exactly once.
  explicit AsyncFinish(absl::AnyInvocable<void(const absl::Status&)> answer)
      : state_(std::make_shared<State>(std::move(answer))) {}
  void operator()(const absl::Status& status) const { state_->Finish(status); }

 private:
  struct State {
    explicit State(absl::AnyInvocable<void(const absl::Status&)> answer)
        : answer(std::move(answer)) {}
    ~State() { Finish(absl::InternalError("the request's work ended without an answer")); }
    void Finish(const absl::Status& status) {
      if (finished.exchange(true)) return;
      answer(status);
    }
    absl::AnyInvocable<void(const absl::Status&)> answer;
    std::atomic<bool> finished{false};
  };
  std::shared_ptr<State> state_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_ASYNC_UNARY_H_
