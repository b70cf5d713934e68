#ifndef LIVECALL_SERVICES_GATEWAY_ROUTE_TABLE_H_
#define LIVECALL_SERVICES_GATEWAY_ROUTE_TABLE_H_

// The REST routes, built only from the `(livecall.v1.http)` options of the RPCs in the generated
// descriptor pool, so the gateway cannot serve a route the contract does not declare. Path
// templates are literal segments and single-segment `{field}` variables binding a string field of
// the request message (the subset of google.api.http our protos use; anything else in an
// annotation is a start-up error, not a silently ignored route).

#include <google/protobuf/descriptor.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/caller_identity.h"

namespace livecall::gateway {

// The services whose annotated RPCs the gateway serves.
inline constexpr absl::string_view kServedServices[] = {
    "livecall.v1.CallControl",    "livecall.v1.AiSession",   "livecall.v1.Context",
    "livecall.v1.TwilioWebhooks", "livecall.v1.SpeechAudio", "livecall.v1.Auth"};

// RPCs of this service are answered by the gateway itself (the dev login), not by a backend.
inline constexpr absl::string_view kGatewayService = "livecall.v1.Auth";

// What serves a matched route, bound when the table is built so that dispatch compares no
// strings: the gateway keeps one handler per kind (services/gateway/README.md).
enum class RouteKind {
  kBackendCall,    // JSON (or raw bytes) ⇄ the RPC of a backend.
  kLiveEvents,     // A live-event watch, served as Server-Sent Events.
  kTwilioWebhook,  // A signed Twilio webhook: form in, TwiML or 204 out.
  kDevLogin,       // livecall.v1.Auth.DevLogin, answered by the gateway.
  kHealth,         // GET /healthz.
  kOpenApi,        // GET /openapi.json.
};
inline constexpr size_t kRouteKindCount = 6;

// The record a route's path names, whose owner alone may use it (README "Order of checks"): the
// gateway asks the record's service (GetCall / GetSession) before it refuses a body, and before it
// opens an agent's live-event stream.
enum class OwnedRecord { kNone, kCall, kSession };

// What a route asks of a caller before anything else happens. Declared once per route — in the
// protos for RPCs ((livecall.v1.auth), (livecall.v1.twilio_webhook)), at AddBuiltinRoute for the
// gateway's own routes — and enforced by the gateway's stages (auth_stage, access_stage,
// twilio_signature_stage), so a route is never public by accident: a route that declares nothing
// needs a bearer token.
enum class RouteAccess {
  kBearer,           // Authorization: Bearer <JWT>, 401 without a valid one.
  kPublic,           // Nothing (health, metrics, the API document, dev login, the console).
  kTwilioSignature,  // X-Twilio-Signature, 403 without a valid one.
  kSignedUrl,        // An HMAC signature in the URL (generated audio), checked by its handler.
};

class PathTemplate {
 public:
  struct Segment {
    bool is_variable = false;
    std::string literal;                                       // When !is_variable.
    const google::protobuf::FieldDescriptor* field = nullptr;  // When is_variable.
  };

  // Parses "/api/calls/{call_sid}"; each variable must name a singular string field of `request`.
  static absl::StatusOr<PathTemplate> Parse(absl::string_view pattern,
                                            const google::protobuf::Descriptor* request);

  // The still percent-encoded text of a path's variables, in template order.
  using RawValues = absl::InlinedVector<absl::string_view, 4>;

  // True when `segments` (the request path split on '/') fit; `raw_values` gets the still
  // percent-encoded text of each variable, in template order.
  bool Match(absl::Span<const absl::string_view> segments, RawValues* raw_values) const;

  const std::string& pattern() const { return pattern_; }
  const std::vector<Segment>& segments() const { return segments_; }

  // True when both templates match exactly the same paths (same literals, variables in the same
  // places), which would make two routes ambiguous.
  bool SameShape(const PathTemplate& other) const;

 private:
  std::string pattern_;
  std::vector<Segment> segments_;
};

struct Route {
  std::string http_method;  // "GET", "POST", "PUT", "DELETE" or "PATCH".
  PathTemplate path;
  const google::protobuf::MethodDescriptor* method = nullptr;
  // body: "*" — the JSON body is the request message. Otherwise no body, query parameters allowed.
  bool body_is_request = false;
  // From additional_bindings (the web page's older paths) rather than the primary binding.
  bool is_alias = false;
  std::string grpc_path;  // "/livecall.v1.AiSession/StartSession"
  std::string summary;    // (livecall.v1.summary)
  // (livecall.v1.twilio_webhook): signature-checked, form-encoded in, TwiML or 204 out. Such an
  // RPC takes livecall.v1.TwilioWebhookRequest and answers TwimlResponse or WebhookAck.
  bool twilio_webhook = false;
  RouteAccess access = RouteAccess::kBearer;
  // (livecall.v1.auth).roles: the roles allowed (403 for others); empty: every role.
  std::vector<Role> roles;
  // A route the gateway serves itself without an RPC (/healthz, ...): `method` is null.
  bool builtin = false;
  RouteKind kind = RouteKind::kBackendCall;
  // The path variable naming the route's call (call_sid) or session (session_id), if any.
  OwnedRecord owner = OwnedRecord::kNone;
  const google::protobuf::FieldDescriptor* owner_field = nullptr;
  // A webhook that only moves a call forward (status, conference), harmless to repeat: one older
  // than the replay window is accepted and logged rather than refused (twilio_signature_stage.h).
  bool replay_safe_webhook = false;
  // A (raw_response) audio route's {file_name}, "<signed id>.wav", which the gateway verifies.
  const google::protobuf::FieldDescriptor* signed_file_name = nullptr;
  // (livecall.v1.raw_response): the RPC answers livecall.v1.HttpBody, written as raw bytes.
  bool raw_response = false;
  // A server-streaming GET of livecall.v1.LiveEventEnvelope: served as Server-Sent Events from
  // the Redis event streams (sse_handler.h), not by calling the RPC.
  bool server_sent_events = false;
};

struct RouteMatch {
  enum class Result { kMatched, kNotFound, kMethodNotAllowed, kBadRequest };
  Result result = Result::kNotFound;
  const Route* route = nullptr;
  // Path variables, percent-decoded, in template order (kMatched only).
  std::vector<std::pair<const google::protobuf::FieldDescriptor*, std::string>> bindings;
  // The methods the path does accept, sorted (kMethodNotAllowed only).
  std::vector<std::string> allowed_methods;
  // Why the path could not be decoded (kBadRequest only).
  absl::Status error;
};

class RouteTable {
 public:
  // Routes of every annotated RPC of `service_names`, looked up in the generated pool.
  // INVALID_ARGUMENT naming the RPC when an annotation uses what the gateway does not implement;
  // NOT_FOUND when a service is not linked into the binary.
  static absl::StatusOr<RouteTable> Build(const std::vector<std::string>& service_names);
  // Build() over kServedServices, plus the gateway's own operational routes (GET /healthz,
  // /readyz, /metrics, /openapi.json; all public).
  static absl::StatusOr<RouteTable> BuildServed();

  RouteMatch Match(absl::string_view http_method, absl::string_view path) const;

  // A route the gateway answers itself (no RPC) with the handler of `kind`, e.g. GET /healthz
  // with kPublic. INVALID_ARGUMENT when it clashes with another route.
  absl::Status AddBuiltinRoute(RouteKind kind, absl::string_view http_method,
                               absl::string_view pattern, RouteAccess access,
                               absl::string_view summary);

  const std::vector<Route>& routes() const { return routes_; }
  const std::vector<const google::protobuf::ServiceDescriptor*>& services() const {
    return services_;
  }

 private:
  absl::Status AddRoute(Route route);

  std::vector<Route> routes_;
  // Indices into routes_ by the number of segments of their path, in the order added: a path is
  // compared only with the templates that can fit it (Match runs on every request).
  std::vector<std::vector<size_t>> by_segment_count_;
  std::vector<const google::protobuf::ServiceDescriptor*> services_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_ROUTE_TABLE_H_
