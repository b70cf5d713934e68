#ifndef LIVECALL_SERVICES_CALL_CONTROL_AI_SESSION_CLIENT_H_
#define LIVECALL_SERVICES_CALL_CONTROL_AI_SESSION_CLIENT_H_

// call-control's edge to ai-session: start the AI session beside a call, feed it what was said
// (real-time transcription), let its voice agent answer a caller, give it to the agent who
// answers, end it with the call. An interface so unit tests use a fake; the real one is a gRPC stub
// with a deadline: synchronous calls, which block their thread like a Redis command, and
// StartSessionAsync, which parks no thread while ai-session works (a customer's /twilio/voice).

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pending_calls.h"
#include "livecall/v1/ai_session.grpc.pb.h"

namespace livecall::call_control {

// ai-session's limit on the text of one turn (AddTurn, ReplyToCaller); longer speech is cut.
inline constexpr size_t kMaxTurnTextLength = 2000;

// Whether this thread polls a QueuedUnaryMethods' queue that is still served: where
// StartSessionAsync's `done` runs when the call was made there, and may block.
bool OnPollingThread();

class AiSessionClient {
 public:
  virtual ~AiSessionClient() = default;
  virtual absl::StatusOr<livecall::v1::Session> StartSession(
      const livecall::v1::StartSessionRequest& request) = 0;
  // StartSession without blocking: `done` runs once with its answer. Made on a polling thread of
  // a QueuedUnaryMethods (an RPC's work), the answer comes back on a polling thread of the same
  // queue (CallOnQueue), where `done` may block as that thread's work may (OnPollingThread() is
  // true there); made on any other thread, `done` runs on a thread of gRPC's, where it must not
  // block (hand blocking work to an Executor). The call carries `request_id` (x-request-id).
  using SessionDone = std::function<void(absl::StatusOr<livecall::v1::Session>)>;
  virtual void StartSessionAsync(const livecall::v1::StartSessionRequest& request,
                                 const std::string& request_id, SessionDone done) = 0;
  virtual absl::StatusOr<livecall::v1::AddTurnResponse> AddTurn(
      const livecall::v1::AddTurnRequest& request) = 0;
  virtual absl::StatusOr<livecall::v1::CallerReply> ReplyToCaller(
      const livecall::v1::ReplyToCallerRequest& request) = 0;
  virtual absl::StatusOr<livecall::v1::Session> EndSession(
      const livecall::v1::EndAiSessionRequest& request) = 0;
  virtual absl::StatusOr<livecall::v1::Session> AssignSession(
      const livecall::v1::AssignSessionRequest& request) = 0;
};

class GrpcAiSessionClient final : public AiSessionClient {
 public:
  GrpcAiSessionClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
      : stub_(livecall::v1::AiSession::NewStub(std::move(channel))), deadline_(deadline) {}

  absl::StatusOr<livecall::v1::Session> StartSession(
      const livecall::v1::StartSessionRequest& request) override;
  void StartSessionAsync(const livecall::v1::StartSessionRequest& request,
                         const std::string& request_id, SessionDone done) override;
  absl::StatusOr<livecall::v1::AddTurnResponse> AddTurn(
      const livecall::v1::AddTurnRequest& request) override;
  absl::StatusOr<livecall::v1::CallerReply> ReplyToCaller(
      const livecall::v1::ReplyToCallerRequest& request) override;
  absl::StatusOr<livecall::v1::Session> EndSession(
      const livecall::v1::EndAiSessionRequest& request) override;
  absl::StatusOr<livecall::v1::Session> AssignSession(
      const livecall::v1::AssignSessionRequest& request) override;

 private:
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request);

  // First, so destroyed last: waits for gRPC to release every async call (pending_calls.h).
  PendingCalls pending_;
  std::unique_ptr<livecall::v1::AiSession::Stub> stub_;
  const absl::Duration deadline_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_AI_SESSION_CLIENT_H_
