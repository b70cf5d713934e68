#ifndef LIVECALL_SERVICES_CONTEXT_CONTEXT_SERVICE_H_
#define LIVECALL_SERVICES_CONTEXT_CONTEXT_SERVICE_H_

#include "common/caller_identity.h"
#include "common/event_hub.h"
#include "common/executor.h"
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

// Whether finding a customer waits for I/O: the CRM (libcurl) and its Redis cache do; the
// directory file, read into memory at start, does not.
enum class CustomerLookup { kBlocking, kInMemory };

// livecall.v1.Context: customer lookups by phone and the conversation state in Redis. RPCs that
// touch Redis (hiredis, synchronous) run on the executor; a lookup from an in-memory source is
// answered on gRPC's callback thread, without a hand-off.
class ContextService final : public livecall::v1::Context::CallbackService {
 public:
  // `hub` may be null: then the event watches answer UNAVAILABLE.
  ContextService(CustomerSource& customers, SessionStore& sessions, Executor& executor,
                 EventHub* hub = nullptr, CustomerLookup lookup = CustomerLookup::kBlocking)
      : customers_(customers),
        sessions_(sessions),
        executor_(executor),
        hub_(hub),
        lookup_(lookup) {}

  // The customer for any spelling of a phone number; an unknown caller, or a customer source
  // that cannot answer, gives a customer with known=false, never an error. INVALID_ARGUMENT for
  // a number that is not valid. Blocking unless the source is in memory (CustomerLookup).
  absl::StatusOr<livecall::v1::Customer> Lookup(const std::string& phone_number) const;

  // livecall::v1::Context::CallbackService
  grpc::ServerUnaryReactor* LookupCustomer(grpc::CallbackServerContext* context,
                                           const livecall::v1::LookupCustomerRequest* request,
                                           livecall::v1::Customer* response) override;
  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* context,
                                          const livecall::v1::CreateSessionRequest* request,
                                          livecall::v1::Session* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const livecall::v1::GetSessionRequest* request,
                                       livecall::v1::Session* response) override;
  grpc::ServerUnaryReactor* AppendTurn(grpc::CallbackServerContext* context,
                                       const livecall::v1::AppendTurnRequest* request,
                                       livecall::v1::AppendTurnResponse* response) override;
  grpc::ServerUnaryReactor* EndSession(grpc::CallbackServerContext* context,
                                       const livecall::v1::EndSessionRequest* request,
                                       livecall::v1::Session* response) override;
  grpc::ServerWriteReactor<livecall::v1::LiveEventEnvelope>* WatchSessionEvents(
      grpc::CallbackServerContext* context,
      const livecall::v1::WatchEventsRequest* request) override;
  grpc::ServerWriteReactor<livecall::v1::LiveEventEnvelope>* WatchCallEvents(
      grpc::CallbackServerContext* context,
      const livecall::v1::WatchEventsRequest* request) override;
  grpc::ServerUnaryReactor* AssignSession(grpc::CallbackServerContext* context,
                                          const livecall::v1::AssignSessionRequest* request,
                                          livecall::v1::Session* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const livecall::v1::ListSessionsRequest* request,
                                         livecall::v1::ListSessionsResponse* response) override;

 private:
  // Authenticates a watch (streaming RPCs do not go through FinishOnExecutor); agents are refused.
  static absl::Status MayWatch(const grpc::CallbackServerContext& context);
  // OK unless `caller` is an agent and the session is not its own.
  absl::Status CheckOwner(const CallerIdentity& caller, const std::string& session_id);

  CustomerSource& customers_;
  SessionStore& sessions_;
  Executor& executor_;
  EventHub* const hub_;
  const CustomerLookup lookup_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CONTEXT_SERVICE_H_
