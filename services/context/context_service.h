#ifndef LIVECALL_SERVICES_CONTEXT_CONTEXT_SERVICE_H_
#define LIVECALL_SERVICES_CONTEXT_CONTEXT_SERVICE_H_

#include "common/caller_identity.h"
#include "common/event_hub.h"
#include "common/queued_unary.h"
#include "common/session_version.h"
#include "livecall/v1/context.grpc.pb.h"
#include "services/context/customer_source.h"
#include "services/context/session_store.h"

namespace livecall::context {

// Records that `caller`, acting for a person, was given the transcript of `session`, which that
// person does not own (a supervisor reading an agent's conversation): a structured log line with
// `"audit":"conversation.read"`, who, whose, which session and the request id, and one count in
// livecall_conversation_reads_audited_total{role}. Nothing for the owner or a service acting for
// itself.
void AuditConversationRead(const CallerIdentity& caller, const livecall::v1::Session& session,
                           absl::string_view rpc);

// livecall.v1.Context: customer lookups by phone and the conversation state in Redis. The unary
// RPCs are served from completion queues (common/queued_unary.h) and block in place on their
// polling threads (hiredis, and libcurl for a CRM): one thread per call, no hand-off. The event
// watches stream on the callback API.
class ContextService final : public QueuedService<livecall::v1::Context> {
 public:
  // Adds the unary RPCs to `unary`, which the same server serves (QueuedWork::kMayBlock).
  // `hub` may be null: then the event watches answer UNAVAILABLE.
  ContextService(CustomerSource& customers, SessionStore& sessions, QueuedUnaryMethods& unary,
                 EventHub* hub = nullptr);

  // The customer for any spelling of a phone number; an unknown caller, or a customer source
  // that cannot answer, gives a customer with known=false, never an error. INVALID_ARGUMENT for
  // a number that is not valid. Blocking unless the source is in memory.
  absl::StatusOr<livecall::v1::Customer> Lookup(const std::string& phone_number) const;

  // livecall::v1::Context::CallbackService
  grpc::ServerWriteReactor<livecall::v1::LiveEventEnvelope>* WatchSessionEvents(
      grpc::CallbackServerContext* context,
      const livecall::v1::WatchEventsRequest* request) override;
  grpc::ServerWriteReactor<livecall::v1::LiveEventEnvelope>* WatchCallEvents(
      grpc::CallbackServerContext* context,
      const livecall::v1::WatchEventsRequest* request) override;

 private:
  // The unary RPCs, for the caller (authenticated by QueuedUnaryMethods); `context` carries the
  // session's version back in trailing metadata.
  absl::Status LookupCustomerFor(const CallerIdentity& caller,
                                 const livecall::v1::LookupCustomerRequest& request,
                                 livecall::v1::Customer& response) const;
  absl::Status CreateSessionFor(const CallerIdentity& caller, grpc::ServerContextBase& context,
                                const livecall::v1::CreateSessionRequest& request,
                                livecall::v1::Session& response);
  absl::Status GetSessionFor(const CallerIdentity& caller, grpc::ServerContextBase& context,
                             const livecall::v1::GetSessionRequest& request,
                             livecall::v1::Session& response);
  absl::Status AppendTurnFor(const CallerIdentity& caller,
                             const livecall::v1::AppendTurnRequest& request,
                             livecall::v1::AppendTurnResponse& response);
  absl::Status EndSessionFor(const CallerIdentity& caller,
                             const livecall::v1::EndSessionRequest& request,
                             livecall::v1::Session& response);
  absl::Status AssignSessionFor(const CallerIdentity& caller, grpc::ServerContextBase& context,
                                const livecall::v1::AssignSessionRequest& request,
                                livecall::v1::Session& response);
  absl::Status ListSessionsFor(const CallerIdentity& caller,
                               const livecall::v1::ListSessionsRequest& request,
                               livecall::v1::ListSessionsResponse& response);

  // Authenticates a watch (streaming RPCs are not queued); agents are refused.
  static absl::Status MayWatch(const grpc::CallbackServerContext& context);
  // OK unless `caller` is an agent and the session is not its own.
  absl::Status CheckOwner(const CallerIdentity& caller, const std::string& session_id);

  CustomerSource& customers_;
  SessionStore& sessions_;
  EventHub* const hub_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CONTEXT_SERVICE_H_
