#include "services/call-control/ai_session_client.h"

#include "absl/time/clock.h"
#include "common/status.h"

namespace livecall::call_control {

absl::StatusOr<livecall::v1::Session> GrpcAiSessionClient::StartSession(
    const livecall::v1::StartSessionRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  livecall::v1::Session session;
  grpc::Status status = stub_->StartSession(&context, request, &session);
  if (!status.ok()) return ToAbslStatus(status);
  return session;
}

absl::StatusOr<livecall::v1::AddTurnResponse> GrpcAiSessionClient::AddTurn(
    const livecall::v1::AddTurnRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  livecall::v1::AddTurnResponse response;
  grpc::Status status = stub_->AddTurn(&context, request, &response);
  if (!status.ok()) return ToAbslStatus(status);
  return response;
}

}  // namespace livecall::call_control
