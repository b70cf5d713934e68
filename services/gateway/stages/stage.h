#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_STAGE_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_STAGE_H_

// The gateway's request pipeline, as Envoy's HTTP filters: each Stage looks at one request (its
// Exchange), records what it learned there, and either lets it go on or answers it; the handler
// bound to the matched route (route_table.h's RouteKind) serves what every stage let through.
// Stages run on the connection's strand and never block; only handlers call backends. The order
// is GatewayHandler's (services/gateway/README.md).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/gateway/agent_auth.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/http_response.h"
#include "services/gateway/http_server.h"
#include "services/gateway/route_table.h"
#include "services/gateway/twilio_signature.h"

namespace livecall::gateway {

// One request on its way through the stages.
struct Exchange {
  // The request and its connection's details; valid only while the stages and the handler's
  // Serve() run (HttpHandler::Handle).
  const HttpRequest& request;
  const std::string& request_id;
  const std::string& peer_ip;
  absl::string_view method;
  absl::string_view path;   // Still percent-encoded.
  absl::string_view query;  // Without the '?'.
  // Where the answer goes. A stage may wrap it: CORS decorates every answer to a listed origin.
  HttpResponder respond;
  // The metrics label of the answer: the route template once matched, "console", or "unmatched".
  std::shared_ptr<std::string> route_label;

  // route_match_stage: the route and its path variables (kMatched when any later stage runs).
  RouteMatch match;
  // auth_stage: the identity a bearer token proved (empty on a public route, or without a token
  // while auth is off), or the 401 for a route that needed one; access_stage answers it once the
  // rate limits have counted the request.
  AuthenticatedAgent caller;
  std::optional<HttpResponse> unauthenticated;
  // twilio_signature_stage: a verified webhook's fields (form or JSON body) and query parameters.
  FormParams webhook_params;
  FormParams webhook_query;

  const Route& route() const { return *match.route; }
  // The first value of header `name`; empty when absent.
  absl::string_view Header(absl::string_view name) const;
  absl::string_view Header(boost::beast::http::field name) const;
};

class Stage {
 public:
  virtual ~Stage() = default;
  // The answer that ends the exchange here, or nullopt to let it go on.
  virtual std::optional<HttpResponse> Process(Exchange& exchange) const = 0;
};

// The end of the pipeline for the routes of one RouteKind.
class RouteHandler {
 public:
  virtual ~RouteHandler() = default;
  // Calls `respond` exactly once, now or later from another thread. `exchange` is valid only
  // during the call: what an answer given later needs is copied.
  virtual void Serve(const Exchange& exchange, HttpResponder respond) const = 0;
};

// The callback of a backend call made for `respond`: an error status is answered as its HTTP error
// (error_response.h), an OK reply as what `answer` makes of its payload. It runs on a gRPC thread,
// where an escaping exception would end the process: one is answered 500 instead.
BackendCallback AnswerWith(HttpResponder respond,
                           std::function<HttpResponse(std::string payload)> answer);

// The 500 for a backend reply that does not parse as the RPC's response message.
HttpResponse UnparsableReply();

// The metadata of a backend call made for `caller`: x-request-id and the identity its token
// proved (x-livecall-agent/-role; the token itself stays in the gateway).
std::vector<std::pair<std::string, std::string>> CallerMetadata(const std::string& request_id,
                                                                const AuthenticatedAgent& caller);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_STAGE_H_
