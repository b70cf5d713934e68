#ifndef LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_

// The gateway's request handling: the fixed operational routes (/healthz, /readyz,
// /openapi.json, /metrics), then the proto-declared routes — match, transcode JSON to the request
// message, call the backend with the client's x-request-id and authorization as metadata,
// transcode the answer back; any other GET is a file of the console (console_files.h). Every
// failure becomes the one error shape of error_response.h. Every answer is counted and timed by
// route template, method and status (common/metrics.h).

#include <string>

#include "absl/time/time.h"
#include "common/event_hub.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/console_files.h"
#include "services/gateway/http_server.h"
#include "services/gateway/readiness.h"
#include "services/gateway/route_table.h"

namespace livecall::gateway {

class GatewayHandler : public HttpHandler {
 public:
  struct Options {
    absl::Duration backend_deadline = absl::Seconds(5);
    // Agents' bearer tokens are verified with this (HS256) when set; see agent_auth.h.
    std::string jwt_secret;
    // Twilio webhooks: X-Twilio-Signature is checked with this token against public_url + the
    // request target. With no token every webhook is refused (403).
    std::string twilio_auth_token;
    std::string public_url;
    // Serves the live-event routes (Server-Sent Events); null: they answer 503.
    EventHub* events = nullptr;
    // The console's static files, served for GET and HEAD of any path no route claims; null: no
    // console (those paths answer 404).
    const ConsoleFiles* console = nullptr;
  };

  // All pointers must outlive the handler. `readiness` may be null (then /readyz is always ready).
  GatewayHandler(const RouteTable* routes, BackendClient* backend,
                 const ReadinessChecker* readiness, std::string openapi_json, Options options);

  void Handle(const HttpRequest& request, const std::string& request_id,
              HttpResponder respond) override;

 private:
  void HandleRoute(const RouteMatch& match, const HttpRequest& request,
                   const std::string& request_id, absl::string_view query, HttpResponder respond);
  // A (livecall.v1.twilio_webhook) route: signature first, then form in, TwiML or 204 out.
  void HandleTwilioWebhook(const RouteMatch& match, const HttpRequest& request,
                           const std::string& request_id, absl::string_view query,
                           HttpResponder respond);

  const RouteTable* routes_;
  BackendClient* backend_;
  const ReadinessChecker* readiness_;
  const std::string openapi_json_;
  const Options options_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_
