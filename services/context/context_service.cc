#include "services/context/context_service.h"

#include <prometheus/counter.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/language.h"
#include "common/live_events.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/phone_number.h"
#include "common/request_id.h"
#include "services/context/event_watch.h"

namespace livecall::context {

using livecall::v1::Customer;
using livecall::v1::Session;

namespace {
constexpr int kDefaultListedSessions = 20;
constexpr int kMaxListedSessions = 100;

// What an agent is shown of a session it does not own in a customer's history: that it happened,
// when, over which call, with whom and how it ended, but not what was said (the turns, the
// suggestions drawn from them, the summary of them, the greeting), which GetSession refuses it.
void KeepHeaderOnly(Session& session) {
  session.clear_conversation();
  session.clear_suggestions();
  session.clear_summary();
  session.clear_greeting();
}

// The session's version for the caller, beside the session (context.proto: the Context service).
void AddSessionVersion(grpc::ServerContextBase& context, int64_t version) {
  context.AddTrailingMetadata(kSessionVersionMetadata, absl::StrCat(version));
}

}  // namespace

void AuditConversationRead(const CallerIdentity& caller, const Session& session,
                           absl::string_view rpc) {
  // Services acting for themselves (ai-session building suggestions) are not people reading.
  if (caller.agent_id.empty() || caller.agent_id == session.agent_id()) return;
  static auto& reads =
      prometheus::BuildCounter()
          .Name("livecall_conversation_reads_audited_total")
          .Help("Reads of a conversation's transcript by someone other than its agent, by role.")
          .Register(MetricsRegistry());
  reads.Add({{"role", RoleName(caller.role)}}).Increment();
  LogInfo("audit: conversation read by another than its agent",
          {{"audit", "conversation.read"},
           {"reader", caller.agent_id},
           {"reader_role", RoleName(caller.role)},
           {"owner", session.agent_id().empty() ? "(none)" : session.agent_id()},
           {"session_id", session.session_id()},
           {"request_id", CurrentRequestId()},
           {"peer", caller.peer},
           {"rpc", std::string(rpc)}});
}

absl::StatusOr<StopStream> ContextService::WatchSessionEventsFor(
    const CallerIdentity& caller, const livecall::v1::WatchEventsRequest& request,
    QueuedStream<livecall::v1::LiveEventEnvelope>& out) {
  LIVECALL_RETURN_IF_ERROR(MayWatch(caller));
  if (request.session_id().empty()) return absl::InvalidArgumentError("sessionId is required");
  return Watch(request, out);
}

absl::StatusOr<StopStream> ContextService::WatchCallEventsFor(
    const CallerIdentity& caller, const livecall::v1::WatchEventsRequest& request,
    QueuedStream<livecall::v1::LiveEventEnvelope>& out) {
  LIVECALL_RETURN_IF_ERROR(MayWatch(caller));
  if (request.call_sid().empty()) return absl::InvalidArgumentError("callSid is required");
  return Watch(request, out);
}

absl::StatusOr<StopStream> ContextService::Watch(
    const livecall::v1::WatchEventsRequest& request,
    QueuedStream<livecall::v1::LiveEventEnvelope>& out) {
  if (hub_ == nullptr) return absl::UnavailableError("live events are off");
  absl::StatusOr<std::string> stream = WatchedStreamKey(request);
  if (!stream.ok()) return stream.status();
  return StartEventWatch(*hub_, *stream, request.after_event_id(), out);
}

absl::Status ContextService::MayWatch(const CallerIdentity& caller) {
  // Ownership needs a Redis read, which a stream's start must not block on (it runs on a polling
  // thread); agents watch through the gateway's SSE routes, which check it first.
  if (caller.is_agent()) {
    return absl::PermissionDeniedError(
        "agents watch live events through the gateway (its SSE routes check ownership)");
  }
  return absl::OkStatus();
}

absl::Status ContextService::CheckOwner(const CallerIdentity& caller,
                                        const std::string& session_id) {
  if (!caller.is_agent()) return absl::OkStatus();
  absl::StatusOr<Session> session = sessions_.Get(session_id);
  if (!session.ok()) return session.status();
  if (!caller.MayAccess(session->agent_id())) {
    return NotYours(absl::StrCat("session ", session_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<Customer> ContextService::Lookup(const std::string& phone_number) const {
  absl::StatusOr<std::string> e164 = NormalizePhoneNumber(phone_number);
  if (!e164.ok()) return e164.status();
  absl::StatusOr<std::optional<Customer>> found = customers_.Find(*e164);
  if (found.ok() && found->has_value()) return *std::move(*found);
  if (!found.ok()) {
    LogWarning("customer source unavailable; empty context",
               {{"phone", *e164}, {"error", found.status().ToString()}});
  }
  Customer unknown;
  unknown.set_phone_number(*e164);
  unknown.set_language(DefaultLanguageForNumber(*e164));
  unknown.set_known(false);
  unknown.set_source("none");
  return unknown;
}

ContextService::ContextService(CustomerSource& customers, SessionStore& sessions,
                               QueuedUnaryMethods& unary, EventHub* hub)
    : customers_(customers), sessions_(sessions), hub_(hub) {
  using livecall::v1::AppendTurnRequest;
  using livecall::v1::AppendTurnResponse;
  using livecall::v1::AssignSessionRequest;
  using livecall::v1::CreateSessionRequest;
  using livecall::v1::EndSessionRequest;
  using livecall::v1::GetSessionRequest;
  using livecall::v1::ListSessionsRequest;
  using livecall::v1::ListSessionsResponse;
  using livecall::v1::LiveEventEnvelope;
  using livecall::v1::LookupCustomerRequest;
  using livecall::v1::WatchEventsRequest;
  for (const char* method :
       {"LookupCustomer", "CreateSession", "GetSession", "AppendTurn", "EndSession",
        "AssignSession", "ListSessions", "WatchSessionEvents", "WatchCallEvents"}) {
    MarkQueued(method);
  }
  unary.Handle<LookupCustomerRequest, Customer>(
      "/livecall.v1.Context/LookupCustomer",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const LookupCustomerRequest& request,
             Customer& response) { return LookupCustomerFor(caller, request, response); });
  unary.Handle<CreateSessionRequest, Session>(
      "/livecall.v1.Context/CreateSession",
      [this](const CallerIdentity& caller, grpc::ServerContextBase& context,
             const CreateSessionRequest& request,
             Session& response) { return CreateSessionFor(caller, context, request, response); });
  unary.Handle<GetSessionRequest, Session>(
      "/livecall.v1.Context/GetSession",
      [this](const CallerIdentity& caller, grpc::ServerContextBase& context,
             const GetSessionRequest& request,
             Session& response) { return GetSessionFor(caller, context, request, response); });
  unary.Handle<AppendTurnRequest, AppendTurnResponse>(
      "/livecall.v1.Context/AppendTurn",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const AppendTurnRequest& request,
             AppendTurnResponse& response) { return AppendTurnFor(caller, request, response); });
  unary.Handle<EndSessionRequest, Session>(
      "/livecall.v1.Context/EndSession",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const EndSessionRequest& request,
             Session& response) { return EndSessionFor(caller, request, response); });
  unary.Handle<AssignSessionRequest, Session>(
      "/livecall.v1.Context/AssignSession",
      [this](const CallerIdentity& caller, grpc::ServerContextBase& context,
             const AssignSessionRequest& request,
             Session& response) { return AssignSessionFor(caller, context, request, response); });
  unary.Handle<ListSessionsRequest, ListSessionsResponse>(
      "/livecall.v1.Context/ListSessions",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const ListSessionsRequest& request, ListSessionsResponse& response) {
        return ListSessionsFor(caller, request, response);
      });
  unary.HandleServerStream<WatchEventsRequest, LiveEventEnvelope>(
      "/livecall.v1.Context/WatchSessionEvents",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const WatchEventsRequest& request, QueuedStream<LiveEventEnvelope>& out) {
        return WatchSessionEventsFor(caller, request, out);
      });
  unary.HandleServerStream<WatchEventsRequest, LiveEventEnvelope>(
      "/livecall.v1.Context/WatchCallEvents",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const WatchEventsRequest& request, QueuedStream<LiveEventEnvelope>& out) {
        return WatchCallEventsFor(caller, request, out);
      });
}

absl::Status ContextService::LookupCustomerFor(const CallerIdentity&,
                                               const livecall::v1::LookupCustomerRequest& request,
                                               Customer& response) const {
  LIVECALL_ASSIGN_OR_RETURN(response, Lookup(request.phone_number()));
  return absl::OkStatus();
}

absl::Status ContextService::CreateSessionFor(const CallerIdentity& caller,
                                              grpc::ServerContextBase& context,
                                              const livecall::v1::CreateSessionRequest& request,
                                              Session& response) {
  if (caller.is_agent() && request.session().agent_id() != caller.agent_id) {
    return absl::PermissionDeniedError("an agent creates sessions only for itself");
  }
  if (request.session().phone_number().empty()) {
    return absl::InvalidArgumentError("session.phone_number is required");
  }
  absl::StatusOr<std::string> e164 = NormalizePhoneNumber(request.session().phone_number());
  if (!e164.ok()) return e164.status();
  Session session = request.session();
  session.set_phone_number(*e164);
  int64_t version = 0;
  absl::StatusOr<Session> created = sessions_.Create(std::move(session), absl::Now(), &version);
  if (!created.ok()) return created.status();
  AddSessionVersion(context, version);
  response = *std::move(created);
  return absl::OkStatus();
}

absl::Status ContextService::GetSessionFor(const CallerIdentity& caller,
                                           grpc::ServerContextBase& context,
                                           const livecall::v1::GetSessionRequest& request,
                                           Session& response) {
  int64_t version = 0;
  absl::StatusOr<Session> session = sessions_.Get(request.session_id(), &version);
  if (!session.ok()) return session.status();
  if (!caller.MayAccess(session->agent_id())) {
    return NotYours(absl::StrCat("session ", request.session_id()));
  }
  AuditConversationRead(caller, *session, "GetSession");
  AddSessionVersion(context, version);
  response = *std::move(session);
  return absl::OkStatus();
}

absl::Status ContextService::AppendTurnFor(const CallerIdentity& caller,
                                           const livecall::v1::AppendTurnRequest& request,
                                           livecall::v1::AppendTurnResponse& response) {
  LIVECALL_RETURN_IF_ERROR(CheckOwner(caller, request.session_id()));
  const livecall::v1::Turn& turn = request.turn();
  if (turn.speaker() != "customer" && turn.speaker() != "agent" && turn.speaker() != "ai") {
    return absl::InvalidArgumentError(
        absl::StrCat("turn.speaker \"", turn.speaker(), "\" is not customer, agent or ai"));
  }
  if (turn.text().empty()) return absl::InvalidArgumentError("turn.text is required");
  if (request.expected_version() < 0) {
    return absl::InvalidArgumentError("expected_version must not be negative");
  }
  int64_t version = 0;
  absl::StatusOr<int> count = sessions_.AppendTurn(
      request.session_id(), turn, request.suggestions(), request.expected_version(), &version);
  if (!count.ok()) return count.status();
  response.set_turn_count(*count);
  response.set_version(version);
  return absl::OkStatus();
}

absl::Status ContextService::EndSessionFor(const CallerIdentity& caller,
                                           const livecall::v1::EndSessionRequest& request,
                                           Session& response) {
  LIVECALL_RETURN_IF_ERROR(CheckOwner(caller, request.session_id()));
  absl::StatusOr<Session> ended =
      sessions_.End(request.session_id(), request.summary(), request.disposition(),
                    request.has_call() ? &request.call() : nullptr, absl::Now());
  if (!ended.ok()) return ended.status();
  response = *std::move(ended);
  return absl::OkStatus();
}

absl::Status ContextService::AssignSessionFor(const CallerIdentity& caller,
                                              grpc::ServerContextBase& context,
                                              const livecall::v1::AssignSessionRequest& request,
                                              Session& response) {
  if (caller.is_agent()) {
    return absl::PermissionDeniedError(
        "an agent cannot assign sessions; call-control assigns a call's session to the "
        "agent who answers it");
  }
  if (!IsValidAgentIdentity(request.agent_id())) {
    return absl::InvalidArgumentError("agentId must be 1-128 printable characters");
  }
  int64_t version = 0;
  LIVECALL_ASSIGN_OR_RETURN(
      response, sessions_.Assign(request.session_id(), request.agent_id(), absl::Now(), &version));
  AddSessionVersion(context, version);
  return absl::OkStatus();
}

absl::Status ContextService::ListSessionsFor(const CallerIdentity& caller,
                                             const livecall::v1::ListSessionsRequest& request,
                                             livecall::v1::ListSessionsResponse& response) {
  absl::StatusOr<std::string> e164 = NormalizePhoneNumber(request.phone_number());
  if (!e164.ok()) return e164.status();
  if (request.limit() < 0 || request.limit() > kMaxListedSessions) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be between 1 and ", kMaxListedSessions));
  }
  const int limit = request.limit() == 0 ? kDefaultListedSessions : request.limit();
  absl::StatusOr<std::vector<Session>> sessions = sessions_.ListByPhone(*e164, limit);
  if (!sessions.ok()) return sessions.status();
  for (Session& session : *sessions) {
    // An agent gets its own conversations whole and the others' as headers (KeepHeaderOnly);
    // a supervisor gets all of them whole, each read of another agent's audited.
    if (caller.MayAccess(session.agent_id())) {
      AuditConversationRead(caller, session, "ListSessions");
    } else {
      KeepHeaderOnly(session);
    }
    *response.add_sessions() = std::move(session);
  }
  return absl::OkStatus();
}

}  // namespace livecall::context
