#include "services/call-control/ai_session_client.h"

#include "absl/time/clock.h"
#include "common/async_unary.h"
#include "common/grpc_server.h"
#include "common/queued_unary.h"
#include "common/request_id.h"
#include "common/status.h"

namespace livecall::call_control {

bool OnPollingThread() {
  return static_cast<bool>(QueuedUnaryMethods::QueueLease::ForThisThread());
}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> GrpcAiSessionClient::Call(Method method, const Request& request) {
  grpc::ClientContext context;
  PreparePeerCall(&context, absl::Now() + deadline_, CurrentRequestId());
  Response response;
  grpc::Status status = ((*stub_).*method)(&context, request, &response);
  if (!status.ok()) return ToAbslStatus(status);
  return response;
}

absl::StatusOr<livecall::v1::Session> GrpcAiSessionClient::StartSession(
    const livecall::v1::StartSessionRequest& request) {
  return Call<livecall::v1::StartSessionRequest, livecall::v1::Session>(
      &livecall::v1::AiSession::Stub::StartSession, request);
}

void GrpcAiSessionClient::StartSessionAsync(const livecall::v1::StartSessionRequest& request,
                                            const std::string& request_id, SessionDone done) {
  using Call = PeerCall<livecall::v1::StartSessionRequest, livecall::v1::Session>;
  auto call = std::make_shared<Call>(&pending_);
  call->request = request;
  PreparePeerCall(&call->context, absl::Now() + deadline_, request_id);
  std::function<void(grpc::Status)> answered = [call, done = std::move(done)](grpc::Status status) {
    if (!status.ok()) return done(ToAbslStatus(status));
    done(std::move(call->response));
  };
  // On the polling thread's own queue: the answer comes back to this thread, and no callback-API
  // call starts gRPC's "nexting" threads, which poll the same sockets and hand every event on
  // (common/queued_unary.h). The callback API remains for other threads (unit tests).
  if (CallOnQueue(
          [stub = stub_.get(), &call](grpc::CompletionQueue* queue) {
            return stub->PrepareAsyncStartSession(&call->context, call->request, queue);
          },
          &call->response, answered)) {
    return;
  }
  stub_->async()->StartSession(&call->context, &call->request, &call->response,
                               std::move(answered));
}

absl::StatusOr<livecall::v1::AddTurnResponse> GrpcAiSessionClient::AddTurn(
    const livecall::v1::AddTurnRequest& request) {
  return Call<livecall::v1::AddTurnRequest, livecall::v1::AddTurnResponse>(
      &livecall::v1::AiSession::Stub::AddTurn, request);
}

absl::StatusOr<livecall::v1::CallerReply> GrpcAiSessionClient::ReplyToCaller(
    const livecall::v1::ReplyToCallerRequest& request) {
  return Call<livecall::v1::ReplyToCallerRequest, livecall::v1::CallerReply>(
      &livecall::v1::AiSession::Stub::ReplyToCaller, request);
}

absl::StatusOr<livecall::v1::Session> GrpcAiSessionClient::EndSession(
    const livecall::v1::EndAiSessionRequest& request) {
  return Call<livecall::v1::EndAiSessionRequest, livecall::v1::Session>(
      &livecall::v1::AiSession::Stub::EndSession, request);
}

absl::StatusOr<livecall::v1::Session> GrpcAiSessionClient::AssignSession(
    const livecall::v1::AssignSessionRequest& request) {
  return Call<livecall::v1::AssignSessionRequest, livecall::v1::Session>(
      &livecall::v1::AiSession::Stub::AssignSession, request);
}

}  // namespace livecall::call_control
