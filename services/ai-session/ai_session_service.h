#ifndef LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_
#define LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "livecall/v1/ai_session.grpc.pb.h"
#include "livecall/v1/context.grpc.pb.h"
#include "services/ai-session/knowledge_base.h"

namespace livecall::ai_session {

// livecall.v1.AiSession: starts the AI session beside a call (context, greeting, suggestions)
// and reads it back. Holds no state of its own: sessions live in Redis through context.
class AiSessionService final : public livecall::v1::AiSession::CallbackService {
 public:
  AiSessionService(livecall::v1::Context::StubInterface& context, const KnowledgeBase& kb,
                   Executor& executor, absl::Duration peer_deadline)
      : context_(context), kb_(kb), executor_(executor), peer_deadline_(peer_deadline) {}

  // The work behind the RPCs; blocking (calls context), so run on the executor.
  absl::StatusOr<livecall::v1::Session> Start(const livecall::v1::StartSessionRequest& request);
  absl::StatusOr<livecall::v1::Session> Get(const std::string& session_id);

  // livecall::v1::AiSession::CallbackService
  grpc::ServerUnaryReactor* StartSession(grpc::CallbackServerContext* context,
                                         const livecall::v1::StartSessionRequest* request,
                                         livecall::v1::Session* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const livecall::v1::GetAiSessionRequest* request,
                                       livecall::v1::Session* response) override;

 private:
  void PrepareContext(grpc::ClientContext* context) const;

  livecall::v1::Context::StubInterface& context_;
  const KnowledgeBase& kb_;
  Executor& executor_;
  const absl::Duration peer_deadline_;
};

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_
