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

// livecall.v1.Context: customer lookups by phone and the conversation state in Redis. Every RPC
// is served from completion queues (common/queued_unary.h), so the process uses no callback API
// (and gRPC starts none of its nexting threads in it). The unary RPCs block in place on their
// polling threads (hiredis, and libcurl for a CRM): one thread per call, no hand-off. The event
// watches stream from the same queues, written from the event hub's thread.
class ContextService final
    : public QueuedService<livecall::v1::Context, livecall::v1::Context::Service> {
 public:
  // Adds every RPC to `unary`, which the same server serves (QueuedWork::kMayBlock).
  // `hub` may be null: then the event watches answer UNAVAILABLE.
  ContextService(CustomerSource& customers, SessionStore& sessions, QueuedUnaryMethods& unary,
                 EventHub* hub = nullptr);

  // The customer for any spelling of a phone number; an unknown caller, or a customer source
  // that cannot answer, gives a customer with known=false, never an error. INVALID_ARGUMENT for
  // a number that is not valid. Blocking unless the source is in memory.
  absl::StatusOr<livecall::v1::Customer> Lookup(const std::string& phone_number) const;

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

  // The event watches, for the caller: the stream's stop, or why it is refused (nothing written).
  absl::StatusOr<StopStream> WatchSessionEventsFor(
      const CallerIdentity& caller, const livecall::v1::WatchEventsRequest& request,
      QueuedStream<livecall::v1::LiveEventEnvelope>& out);
  absl::StatusOr<StopStream> WatchCallEventsFor(const CallerIdentity& caller,
                                                const livecall::v1::WatchEventsRequest& request,
                                                QueuedStream<livecall::v1::LiveEventEnvelope>& out);
  absl::StatusOr<StopStream> Watch(const livecall::v1::WatchEventsRequest& request,
                                   QueuedStream<livecall::v1::LiveEventEnvelope>& out);
  // Agents are refused.
  static absl::Status MayWatch(const CallerIdentity& caller);
  // OK unless `caller` is an agent and the session is not its own.
  absl::Status CheckOwner(const CallerIdentity& caller, const std::string& session_id);

  CustomerSource& customers_;
  SessionStore& sessions_;
  EventHub* const hub_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CONTEXT_SERVICE_H_
