#ifndef LIVECALL_SERVICES_GATEWAY_TRANSCODER_H_
#define LIVECALL_SERVICES_GATEWAY_TRANSCODER_H_

// JSON ⇄ protobuf for the REST routes, with protobuf's own proto3 JSON mapping (json_util):
//  - request: the body (body "*") or the query parameters (no body) fill the request message,
//    then path variables are set, overriding either. Unknown JSON fields and unknown query
//    parameters are INVALID_ARGUMENT: silently dropping them hides client bugs (cpp-style §2).
//    (The policy everywhere a client's JSON comes in; Twilio's form webhooks are the exception —
//    Twilio adds fields at will, so they are kept in a map, not matched to a message.)
//    lowerCamelCase and proto field names are both accepted. A body nested deeper than
//    kMaxJsonDepth or with a string over kMaxJsonStringLength characters is INVALID_ARGUMENT
//    before protobuf parses it.
//  - response: lowerCamelCase, every primitive field printed even when it holds its default, so
//    the web page sees a stable shape.
// A backend call needs bytes and a reply is bytes, so the hot path never builds a message:
// BuildRequestPayload turns the JSON body into wire bytes and PayloadToJson the reply's wire bytes
// into JSON, each in one pass of common/wire_json.h's converters (a plan per message type built
// once; RapidJSON's SAX reader for the body), which write the bytes protobuf's stream converter
// wrote, at a fraction of its CPU. What those leave to protobuf (malformed or refused input, so
// every error message is protobuf's, and rare features) goes through protobuf's converter, with
// types resolved through one process-wide cache.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/gateway/route_table.h"

namespace livecall::gateway {

// No request of the API nests deeper than a few levels; the longest text a field takes is a
// call's spoken text (4,096 characters).
inline constexpr int kMaxJsonDepth = 16;
inline constexpr size_t kMaxJsonStringLength = 8192;

// INVALID_ARGUMENT (with a message for the client) when `json` nests deeper than kMaxJsonDepth
// or holds a string longer than kMaxJsonStringLength characters. Quotes inside strings and
// escapes are understood; the JSON is otherwise not validated here.
absl::Status CheckJsonLimits(absl::string_view json);

// True for a body that carries no fields: none at all, whitespace, or the empty JSON object `{}`
// (what most web code sends with Content-Type: application/json). A route without a body takes
// any of these.
bool IsEmptyJsonBody(absl::string_view body);

// A new, empty message of `type` from the generated factory.
std::unique_ptr<google::protobuf::Message> NewMessage(const google::protobuf::Descriptor* type);

// The request message for a matched route from the request body and the query string.
// INVALID_ARGUMENT for malformed or unknown input, with a message fit for the client.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequestMessage(
    const RouteMatch& match, absl::string_view body, absl::string_view query);

// The same request, as the wire bytes of the route's request message: what a backend call sends.
// Same errors as BuildRequestMessage.
absl::StatusOr<std::string> BuildRequestPayload(const RouteMatch& match, absl::string_view body,
                                                absl::string_view query);

// The JSON (as MessageToJson prints it) of the message of `type` whose wire bytes are `payload`.
// INTERNAL when the bytes are not such a message.
absl::StatusOr<std::string> PayloadToJson(const google::protobuf::Descriptor* type,
                                          const std::string& payload);

// Parses a JSON object into `message` (strict: unknown fields are errors). An empty `json` is
// the empty object.
absl::Status JsonToMessage(absl::string_view json, google::protobuf::Message* message);

// A JSON object's members as name/value text, for the Twilio webhooks that post JSON (their
// fields go to call-control in the same params map as a form's): a string is its decoded text,
// any other value its JSON text as sent (0.93, true, an object). In the body's order.
// INVALID_ARGUMENT when `json` is not a JSON object or breaks the limits of CheckJsonLimits.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> JsonObjectToParams(
    absl::string_view json);

// lowerCamelCase JSON with every primitive field present.
absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_TRANSCODER_H_
