#include "services/gateway/route_table.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/caller_identity.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/auth.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "livecall/v1/http.pb.h"
#include "livecall/v1/speech_audio.pb.h"
#include "livecall/v1/twilio_webhooks.pb.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

// A generated file registers its descriptors with the generated pool from a static initialiser
// in its .pb.cc; from a static library that object is linked only when something refers to it.
// Naming one symbol of each contract file here makes FindServiceByName() find them.
void LinkContract() {
  static const Descriptor* const kLinked[] = {
      livecall::v1::HttpRule::descriptor(),
      livecall::v1::PlaceCallRequest::descriptor(),
      livecall::v1::StartSessionRequest::descriptor(),
      livecall::v1::LookupCustomerRequest::descriptor(),
      livecall::v1::TwilioWebhookRequest::descriptor(),
      livecall::v1::GetSpeechAudioRequest::descriptor(),
      livecall::v1::DevLoginRequest::descriptor(),
  };
  (void)kLinked;
}

bool IsIdentifier(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return !(text[0] >= '0' && text[0] <= '9');
}

// Unreserved and sub-delims that a literal path segment may contain without percent-encoding.
bool IsLiteralSegment(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    absl::string_view("-._~!$&'()+,;@").find(c) != absl::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

struct Binding {
  std::string http_method;
  std::string pattern;
  std::string body;
};

absl::StatusOr<Binding> ReadBinding(const livecall::v1::HttpRule& rule) {
  using Rule = livecall::v1::HttpRule;
  Binding binding;
  switch (rule.pattern_case()) {
    case Rule::kGet:
      binding = {"GET", rule.get(), rule.body()};
      break;
    case Rule::kPut:
      binding = {"PUT", rule.put(), rule.body()};
      break;
    case Rule::kPost:
      binding = {"POST", rule.post(), rule.body()};
      break;
    case Rule::kDelete:
      binding = {"DELETE", rule.delete_(), rule.body()};
      break;
    case Rule::kPatch:
      binding = {"PATCH", rule.patch(), rule.body()};
      break;
    case Rule::PATTERN_NOT_SET:
      return absl::InvalidArgumentError("binding without a path");
  }
  if (!binding.body.empty() && binding.body != "*") {
    return absl::InvalidArgumentError(
        absl::StrCat("body \"", binding.body, "\" is not supported (only \"*\" or none)"));
  }
  return binding;
}

// The more specific of two templates matching the same path: the first segment where they differ
// is a literal in the winner ("/a/b" beats "/a/{x}").
bool MoreSpecific(const PathTemplate& a, const PathTemplate& b) {
  for (size_t i = 0; i < a.segments().size() && i < b.segments().size(); ++i) {
    const bool a_var = a.segments()[i].is_variable;
    const bool b_var = b.segments()[i].is_variable;
    if (a_var != b_var) return !a_var;
  }
  return false;
}

// The handler of an RPC's route. The gateway answers only the dev login of kGatewayService.
absl::StatusOr<RouteKind> KindOf(const Route& route) {
  if (route.method->service()->full_name() == kGatewayService) {
    if (route.method->full_name() != "livecall.v1.Auth.DevLogin") {
      return absl::InvalidArgumentError("the gateway answers no such RPC of its own");
    }
    return RouteKind::kDevLogin;
  }
  if (route.twilio_webhook) return RouteKind::kTwilioWebhook;
  if (route.server_sent_events) return RouteKind::kLiveEvents;
  return RouteKind::kBackendCall;
}

// What the route's path variables are to the gateway: the call or session it names, and a signed
// audio id; and whether its webhook is harmless to repeat (status: queued < ringing < in-progress
// < final; conference events: ordered by SequenceNumber, the first agent to join wins). The other
// webhooks answer TwiML that acts on the call (voice, gather, dtmf), or add a turn that is
// deduplicated only for an hour (transcription): a stale one of those stays refused.
void BindPathRoles(Route* route) {
  for (const PathTemplate::Segment& segment : route->path.segments()) {
    if (!segment.is_variable) continue;
    if (segment.field->name() == "session_id") {
      route->owner = OwnedRecord::kSession;
      route->owner_field = segment.field;
    } else if (segment.field->name() == "call_sid") {
      route->owner = OwnedRecord::kCall;
      route->owner_field = segment.field;
    } else if (segment.field->name() == "file_name" && route->raw_response) {
      route->signed_file_name = segment.field;
    }
  }
  route->replay_safe_webhook =
      route->twilio_webhook &&
      (route->method->full_name() == "livecall.v1.TwilioWebhooks.CallStatus" ||
       route->method->full_name() == "livecall.v1.TwilioWebhooks.ConferenceStatus");
}

}  // namespace

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view pattern,
                                                 const Descriptor* request) {
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("path template \"", pattern, "\": ", why));
  };
  if (pattern.size() < 2 || pattern[0] != '/') return error("must start with '/' and not be \"/\"");
  PathTemplate result;
  result.pattern_ = std::string(pattern);
  for (absl::string_view text : absl::StrSplit(pattern.substr(1), '/')) {
    Segment segment;
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      const absl::string_view name = text.substr(1, text.size() - 2);
      if (!IsIdentifier(name)) {
        return error(absl::StrCat("variable \"", text,
                                  "\" is not a plain field name (no nested paths or '=')"));
      }
      if (request == nullptr) return error("a builtin route has no variables");
      const FieldDescriptor* field = request->FindFieldByName(std::string(name));
      if (field == nullptr) {
        return error(absl::StrCat(request->full_name(), " has no field \"", name, "\""));
      }
      if (field->is_repeated() || field->type() != FieldDescriptor::TYPE_STRING) {
        return error(absl::StrCat("field \"", name, "\" is not a singular string"));
      }
      for (const Segment& earlier : result.segments_) {
        if (earlier.field == field) return error(absl::StrCat("field \"", name, "\" bound twice"));
      }
      segment.is_variable = true;
      segment.field = field;
    } else if (IsLiteralSegment(text)) {
      segment.literal = std::string(text);
    } else {
      return error(absl::StrCat("segment \"", text,
                                "\" is neither a literal nor a {field} variable "
                                "(wildcards and verbs are not supported)"));
    }
    result.segments_.push_back(std::move(segment));
  }
  return result;
}

bool PathTemplate::Match(absl::Span<const absl::string_view> segments,
                         RawValues* raw_values) const {
  if (segments.size() != segments_.size()) return false;
  raw_values->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments_[i].is_variable) {
      if (segments[i].empty()) return false;
      raw_values->push_back(segments[i]);
    } else if (segments[i] != segments_[i].literal) {
      return false;
    }
  }
  return true;
}

bool PathTemplate::SameShape(const PathTemplate& other) const {
  if (segments_.size() != other.segments_.size()) return false;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& a = segments_[i];
    const Segment& b = other.segments_[i];
    if (a.is_variable != b.is_variable) return false;
    if (!a.is_variable && a.literal != b.literal) return false;
  }
  return true;
}

absl::StatusOr<RouteTable> RouteTable::BuildServed() {
  std::vector<std::string> names;
  for (absl::string_view name : kServedServices) names.emplace_back(name);
  absl::StatusOr<RouteTable> table = Build(names);
  if (!table.ok()) return table;
  for (const auto& [kind, path, summary] :
       std::vector<std::tuple<RouteKind, const char*, const char*>>{
           {RouteKind::kHealth, "/healthz", "The process is up."},
           {RouteKind::kOpenApi, "/openapi.json", "This document."}}) {
    if (absl::Status added =
            table->AddBuiltinRoute(kind, "GET", path, RouteAccess::kPublic, summary);
        !added.ok()) {
      return added;
    }
  }
  return table;
}

absl::Status RouteTable::AddBuiltinRoute(RouteKind kind, absl::string_view http_method,
                                         absl::string_view pattern, RouteAccess access,
                                         absl::string_view summary) {
  absl::StatusOr<PathTemplate> path = PathTemplate::Parse(pattern, nullptr);
  if (!path.ok()) return path.status();
  Route route;
  route.http_method = std::string(http_method);
  route.path = *std::move(path);
  route.access = access;
  route.builtin = true;
  route.kind = kind;
  route.summary = std::string(summary);
  return AddRoute(std::move(route));
}

absl::StatusOr<RouteTable> RouteTable::Build(const std::vector<std::string>& service_names) {
  LinkContract();
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  RouteTable table;
  for (const std::string& service_name : service_names) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(service_name);
    if (service == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("service ", service_name, " is not in the generated descriptor pool"));
    }
    table.services_.push_back(service);
    for (int m = 0; m < service->method_count(); ++m) {
      const MethodDescriptor* method = service->method(m);
      if (!method->options().HasExtension(livecall::v1::http)) continue;  // gRPC-only RPC.
      auto rpc_error = [&](const absl::Status& status) {
        return absl::InvalidArgumentError(
            absl::StrCat("(livecall.v1.http) of ", method->full_name(), ": ", status.message()));
      };
      const bool server_sent_events =
          method->server_streaming() && !method->client_streaming() &&
          method->input_type() == livecall::v1::WatchEventsRequest::descriptor() &&
          method->output_type() == livecall::v1::LiveEventEnvelope::descriptor();
      if ((method->client_streaming() || method->server_streaming()) && !server_sent_events) {
        return rpc_error(absl::InvalidArgumentError(
            "streaming RPCs cannot be transcoded (except live-event watches, served as SSE)"));
      }
      const livecall::v1::HttpRule& primary = method->options().GetExtension(livecall::v1::http);
      std::vector<std::pair<const livecall::v1::HttpRule*, bool>> rules = {{&primary, false}};
      for (const livecall::v1::HttpRule& alias : primary.additional_bindings()) {
        if (alias.additional_bindings_size() > 0) {
          return rpc_error(absl::InvalidArgumentError("additional_bindings nest one level only"));
        }
        rules.emplace_back(&alias, true);
      }
      for (const auto& [rule, is_alias] : rules) {
        absl::StatusOr<Binding> binding = ReadBinding(*rule);
        if (!binding.ok()) return rpc_error(binding.status());
        absl::StatusOr<PathTemplate> path =
            PathTemplate::Parse(binding->pattern, method->input_type());
        if (!path.ok()) return rpc_error(path.status());
        Route route;
        route.http_method = binding->http_method;
        route.path = *std::move(path);
        route.method = method;
        route.body_is_request = binding->body == "*";
        route.is_alias = is_alias;
        route.grpc_path = absl::StrCat("/", service->full_name(), "/", method->name());
        route.summary = method->options().GetExtension(livecall::v1::summary);
        route.twilio_webhook = method->options().GetExtension(livecall::v1::twilio_webhook);
        route.raw_response = method->options().GetExtension(livecall::v1::raw_response);
        const livecall::v1::AuthRule& auth = method->options().GetExtension(livecall::v1::auth);
        if (route.twilio_webhook) {
          if (method->options().HasExtension(livecall::v1::auth)) {
            return rpc_error(absl::InvalidArgumentError(
                "a twilio_webhook is signature-checked; it takes no (auth) option"));
          }
          route.access = RouteAccess::kTwilioSignature;
        } else if (auth.public_() || auth.signed_url()) {
          if (auth.roles_size() > 0 || (auth.public_() && auth.signed_url())) {
            return rpc_error(
                absl::InvalidArgumentError("(auth) is one of public, signed_url or roles"));
          }
          route.access = auth.public_() ? RouteAccess::kPublic : RouteAccess::kSignedUrl;
        }
        for (int role : auth.roles()) {
          if (!livecall::v1::Role_IsValid(role) || role == livecall::v1::ROLE_UNSPECIFIED) {
            return rpc_error(absl::InvalidArgumentError(
                absl::StrCat("(auth) role ", role, " is not agent, supervisor or service")));
          }
          route.roles.push_back(static_cast<Role>(role));
        }
        route.server_sent_events = server_sent_events;
        absl::StatusOr<RouteKind> kind = KindOf(route);
        if (!kind.ok()) return rpc_error(kind.status());
        route.kind = *kind;
        BindPathRoles(&route);
        if (route.raw_response != (method->output_type() == livecall::v1::HttpBody::descriptor())) {
          return rpc_error(absl::InvalidArgumentError(
              "an RPC answers livecall.v1.HttpBody exactly when it has (raw_response) = true"));
        }
        if (server_sent_events && (route.http_method != "GET" || route.body_is_request)) {
          return rpc_error(absl::InvalidArgumentError("a live-event watch is a GET without body"));
        }
        if (route.twilio_webhook &&
            (method->input_type() != livecall::v1::TwilioWebhookRequest::descriptor() ||
             (method->output_type() != livecall::v1::TwimlResponse::descriptor() &&
              method->output_type() != livecall::v1::WebhookAck::descriptor()) ||
             !route.body_is_request || route.http_method != "POST")) {
          return rpc_error(absl::InvalidArgumentError(
              "a twilio_webhook is POST with body \"*\", takes TwilioWebhookRequest and answers "
              "TwimlResponse or WebhookAck"));
        }
        if (absl::Status added = table.AddRoute(std::move(route)); !added.ok()) {
          return rpc_error(added);
        }
      }
    }
  }
  return table;
}

absl::Status RouteTable::AddRoute(Route route) {
  for (const Route& existing : routes_) {
    if (existing.http_method == route.http_method && existing.path.SameShape(route.path)) {
      return absl::InvalidArgumentError(absl::StrCat(
          route.http_method, " ", route.path.pattern(), " is ambiguous with ",
          existing.path.pattern(), " of ",
          existing.builtin ? std::string("the gateway") : existing.method->full_name()));
    }
  }
  const size_t segment_count = route.path.segments().size();
  if (by_segment_count_.size() <= segment_count) by_segment_count_.resize(segment_count + 1);
  by_segment_count_[segment_count].push_back(routes_.size());
  routes_.push_back(std::move(route));
  return absl::OkStatus();
}

RouteMatch RouteTable::Match(absl::string_view http_method, absl::string_view path) const {
  RouteMatch match;
  if (path.empty() || path[0] != '/') return match;
  // On the stack for the usual path: this runs on every request.
  const absl::InlinedVector<absl::string_view, 8> segments = absl::StrSplit(path.substr(1), '/');
  if (segments.size() >= by_segment_count_.size()) {
    match.result = RouteMatch::Result::kNotFound;
    return match;
  }

  const Route* best = nullptr;
  PathTemplate::RawValues best_values;
  PathTemplate::RawValues values;
  for (const size_t index : by_segment_count_[segments.size()]) {
    const Route& route = routes_[index];
    if (!route.path.Match(segments, &values)) continue;
    if (route.http_method != http_method) {
      if (std::find(match.allowed_methods.begin(), match.allowed_methods.end(),
                    route.http_method) == match.allowed_methods.end()) {
        match.allowed_methods.push_back(route.http_method);
      }
      continue;
    }
    if (best == nullptr || MoreSpecific(route.path, best->path)) {
      best = &route;
      best_values = values;
    }
  }
  if (best == nullptr) {
    match.result = match.allowed_methods.empty() ? RouteMatch::Result::kNotFound
                                                 : RouteMatch::Result::kMethodNotAllowed;
    std::sort(match.allowed_methods.begin(), match.allowed_methods.end());
    return match;
  }
  match.allowed_methods.clear();

  size_t value_index = 0;
  for (const PathTemplate::Segment& segment : best->path.segments()) {
    if (!segment.is_variable) continue;
    absl::StatusOr<std::string> decoded =
        PercentDecode(best_values[value_index++], /*plus_is_space=*/false);
    if (!decoded.ok()) {
      match.result = RouteMatch::Result::kBadRequest;
      match.error = absl::InvalidArgumentError(absl::StrCat(
          "path parameter \"", segment.field->name(), "\": ", decoded.status().message()));
      match.bindings.clear();
      return match;
    }
    match.bindings.emplace_back(segment.field, *std::move(decoded));
  }
  match.result = RouteMatch::Result::kMatched;
  match.route = best;
  return match;
}

}  // namespace livecall::gateway
