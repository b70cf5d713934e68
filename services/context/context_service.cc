#include "services/context/context_service.h"

#include "absl/time/clock.h"
#include "common/language.h"
#include "common/phone_number.h"
#include "common/unary_reactor.h"

namespace livecall::context {

using livecall::v1::Customer;
using livecall::v1::Session;

absl::StatusOr<Customer> ContextService::Lookup(const std::string& phone_number) const {
  absl::StatusOr<std::string> e164 = NormalizePhoneNumber(phone_number);
  if (!e164.ok()) return e164.status();
  if (std::optional<Customer> customer = directory_.Find(*e164)) return *customer;
  Customer unknown;
  unknown.set_phone_number(*e164);
  unknown.set_language(DefaultLanguageForNumber(*e164));
  unknown.set_known(false);
  unknown.set_source("none");
  return unknown;
}

grpc::ServerUnaryReactor* ContextService::LookupCustomer(
    grpc::CallbackServerContext* context, const livecall::v1::LookupCustomerRequest* request,
    Customer* response) {
  // The directory is in memory: no need to leave the callback thread.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Customer> customer = Lookup(request->phone_number());
  if (customer.ok()) *response = *std::move(customer);
  reactor->Finish(ToGrpcStatus(customer.status()));
  return reactor;
}

grpc::ServerUnaryReactor* ContextService::CreateSession(
    grpc::CallbackServerContext* context, const livecall::v1::CreateSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    if (request->session().phone_number().empty()) {
      return absl::InvalidArgumentError("session.phone_number is required");
    }
    absl::StatusOr<std::string> e164 = NormalizePhoneNumber(request->session().phone_number());
    if (!e164.ok()) return e164.status();
    Session session = request->session();
    session.set_phone_number(*e164);
    absl::StatusOr<Session> created = sessions_.Create(std::move(session), absl::Now());
    if (!created.ok()) return created.status();
    *response = *std::move(created);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContextService::GetSession(grpc::CallbackServerContext* context,
                                                     const livecall::v1::GetSessionRequest* request,
                                                     Session* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    absl::StatusOr<Session> session = sessions_.Get(request->session_id());
    if (!session.ok()) return session.status();
    *response = *std::move(session);
    return absl::OkStatus();
  });
}

}  // namespace livecall::context
