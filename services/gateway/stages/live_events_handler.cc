#include "services/gateway/stages/live_events_handler.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/caller_identity.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {

void LiveEventsHandler::Serve(const Exchange& exchange, HttpResponder respond) const {
  const LiveStreamGrant grant{limits_, exchange.caller.agent_id, exchange.caller.expires_at};
  if (exchange.caller.role != kRoleAgent) {
    return respond(
        ServeLiveEvents(events_, exchange.match, exchange.request, exchange.query, grant));
  }
  std::optional<BackendRequest> read =
      ownership_.Read(exchange.match, exchange.caller, exchange.request_id);
  if (!read.has_value()) {
    return respond(ErrorResponse(absl::InternalError("a live-event route without its id")));
  }
  // The request is answered after the check, from a gRPC thread: it outlives this call.
  auto request = std::make_shared<HttpRequest>(exchange.request);
  ownership_.Then(
      *std::move(read),
      [events = events_, match = exchange.match, request, query = std::string(exchange.query),
       grant] { return ServeLiveEvents(events, match, *request, query, grant); },
      std::move(respond));
}

}  // namespace livecall::gateway
