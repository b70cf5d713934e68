#include "services/gateway/openapi.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/caller_identity.h"
#include "common/enum_json.h"

namespace livecall::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kSchemaPrefix = "#/components/schemas/";
constexpr absl::string_view kErrorSchema = "Error";

Value& At(Struct* object, absl::string_view key) {
  return (*object->mutable_fields())[std::string(key)];
}
Struct* Object(Struct* parent, absl::string_view key) {
  return At(parent, key).mutable_struct_value();
}
void Set(Struct* object, absl::string_view key, absl::string_view text) {
  At(object, key).set_string_value(std::string(text));
}
void SetBool(Struct* object, absl::string_view key, bool value) {
  At(object, key).set_bool_value(value);
}
ListValue* List(Struct* parent, absl::string_view key) {
  return At(parent, key).mutable_list_value();
}
void Append(ListValue* list, absl::string_view text) {
  list->add_values()->set_string_value(std::string(text));
}
void Ref(Struct* schema, absl::string_view name) {
  Set(schema, "$ref", absl::StrCat(kSchemaPrefix, name));
}

// Walks the messages the routes use and writes one component schema per message reached.
class SchemaWriter {
 public:
  explicit SchemaWriter(Struct* schemas) : schemas_(schemas) {}

  // A reference to `type` (queued for a component) or, for a well-known type, its inline schema.
  void TypeSchema(const Descriptor* type, Struct* out) {
    if (WellKnown(type, out)) return;
    Ref(out, type->full_name());
    if (queued_.insert(type).second) pending_.push_back(type);
  }

  void FieldSchema(const FieldDescriptor* field, Struct* out) {
    if (field->is_map()) {
      Set(out, "type", "object");
      SingularSchema(field->message_type()->map_value(), Object(out, "additionalProperties"));
    } else if (field->is_repeated()) {
      Set(out, "type", "array");
      SingularSchema(field, Object(out, "items"));
    } else {
      SingularSchema(field, out);
    }
  }

  // Writes every queued message's component, and those they reach in turn.
  void Flush() {
    while (!pending_.empty()) {
      const Descriptor* type = pending_.front();
      pending_.pop_front();
      Struct* schema = Object(schemas_, type->full_name());
      Set(schema, "type", "object");
      Struct* properties = Object(schema, "properties");
      for (int i = 0; i < type->field_count(); ++i) {
        const FieldDescriptor* field = type->field(i);
        FieldSchema(field, Object(properties, field->json_name()));
      }
    }
  }

 private:
  void SingularSchema(const FieldDescriptor* field, Struct* out) {
    switch (field->type()) {
      case FieldDescriptor::TYPE_STRING:
        Set(out, "type", "string");
        break;
      case FieldDescriptor::TYPE_BYTES:
        Set(out, "type", "string");
        Set(out, "format", "byte");
        break;
      case FieldDescriptor::TYPE_BOOL:
        Set(out, "type", "boolean");
        break;
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        Set(out, "type", "integer");
        Set(out, "format", "int32");
        break;
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        Set(out, "type", "integer");
        Set(out, "format", "int64");
        At(out, "minimum").set_number_value(0);
        break;
      // proto3 JSON prints 64-bit integers as strings: JavaScript numbers cannot hold them.
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        Set(out, "type", "string");
        Set(out, "format", "int64");
        break;
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        Set(out, "type", "string");
        Set(out, "format", "uint64");
        break;
      case FieldDescriptor::TYPE_FLOAT:
        Set(out, "type", "number");
        Set(out, "format", "float");
        break;
      case FieldDescriptor::TYPE_DOUBLE:
        Set(out, "type", "number");
        Set(out, "format", "double");
        break;
      case FieldDescriptor::TYPE_ENUM: {
        Set(out, "type", "string");
        ListValue* values = List(out, "enum");
        // The JSON spellings, UNSPECIFIED's "" among them: answers print an unset enum as ""
        // (an inbound call's mode), as they printed the string field it was.
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          Append(values, EnumJsonName(field->enum_type()->value(i)));
        }
        break;
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        TypeSchema(field->message_type(), out);
        break;
    }
  }

  // The proto3 JSON forms of the well-known types; false for any other message.
  static bool WellKnown(const Descriptor* type, Struct* out) {
    const std::string& name = type->full_name();
    if (name == "google.protobuf.Timestamp") {
      Set(out, "type", "string");
      Set(out, "format", "date-time");
    } else if (name == "google.protobuf.Duration") {
      Set(out, "type", "string");
      Set(out, "pattern", "^-?[0-9]+(\\.[0-9]{1,9})?s$");
    } else if (name == "google.protobuf.FieldMask") {
      Set(out, "type", "string");
    } else if (name == "google.protobuf.Struct" || name == "google.protobuf.Any") {
      Set(out, "type", "object");
      SetBool(out, "additionalProperties", true);
    } else if (name == "google.protobuf.Empty") {
      Set(out, "type", "object");
    } else if (name == "google.protobuf.Value") {
      // Any JSON value: the empty schema.
      out->mutable_fields();
    } else if (name == "google.protobuf.ListValue") {
      Set(out, "type", "array");
      Object(out, "items")->mutable_fields();
    } else if (absl::StartsWith(name, "google.protobuf.") && absl::EndsWith(name, "Value")) {
      // Wrappers: the wrapped primitive, or null.
      const FieldDescriptor* value = type->FindFieldByName("value");
      if (value == nullptr) return false;
      SchemaWriter inner(nullptr);
      inner.SingularSchema(value, out);
      SetBool(out, "nullable", true);
    } else {
      return false;
    }
    return true;
  }

  Struct* schemas_;
  absl::flat_hash_set<const Descriptor*> queued_;
  std::deque<const Descriptor*> pending_;
};

void JsonContent(Struct* parent, absl::string_view schema_ref_or_empty, Struct** schema_out) {
  Struct* schema = Object(Object(Object(parent, "content"), "application/json"), "schema");
  if (!schema_ref_or_empty.empty()) Ref(schema, schema_ref_or_empty);
  if (schema_out != nullptr) *schema_out = schema;
}

void ErrorResponses(Struct* responses, bool has_body) {
  std::vector<absl::string_view> codes = {"400", "401", "403", "404", "409",
                                          "429", "500", "501", "503", "504"};
  if (has_body) codes.push_back("413");
  for (absl::string_view code : codes) {
    Set(Object(responses, code), "$ref", "#/components/responses/Error");
  }
  Set(Object(responses, "default"), "$ref", "#/components/responses/Error");
}

void WriteErrorComponents(Struct* components) {
  Struct* error = Object(Object(components, "schemas"), kErrorSchema);
  Set(error, "type", "object");
  Append(List(error, "required"), "error");
  Struct* inner = Object(Object(error, "properties"), "error");
  Set(inner, "type", "object");
  ListValue* required = List(inner, "required");
  Append(required, "code");
  Append(required, "message");
  Append(required, "requestId");
  Struct* properties = Object(inner, "properties");
  auto string_property = [properties](const char* name, const char* description) {
    Struct* property = Object(properties, name);
    Set(property, "type", "string");
    Set(property, "description", description);
  };
  string_property("code",
                  "The gRPC canonical code name (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, ...), "
                  "or for HTTP-only errors METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE or "
                  "REQUEST_HEADER_FIELDS_TOO_LARGE.");
  string_property("message",
                  "For the codes a client can act on, what our services say is wrong; for "
                  "internal failures (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, ...) a fixed "
                  "text, the detail being in the gateway's log under requestId.");
  string_property("requestId",
                  "The request's X-Request-Id (the client's, or one the gateway made): quote it "
                  "when reporting a failure.");

  Struct* response = Object(Object(components, "responses"), "Error");
  Set(response, "description", "An error; the body names the gRPC status code.");
  JsonContent(response, kErrorSchema, nullptr);
}

// /healthz and /openapi.json are served by the gateway itself, not by a backend. (/readyz and
// /metrics are on the admin port, not in this API.)
void WriteFixedPaths(Struct* paths) {
  auto operation = [&](absl::string_view path, absl::string_view id, absl::string_view summary) {
    Struct* get = Object(Object(paths, path), "get");
    Set(get, "operationId", id);
    Set(get, "summary", summary);
    Append(List(get, "tags"), "Operations");
    List(get, "security");  // Public: an empty list of requirements.
    return Object(get, "responses");
  };
  Struct* schema = nullptr;
  Struct* health = operation("/healthz", "Healthz", "The process is up.");
  Set(Object(health, "200"), "description", "OK");
  JsonContent(Object(health, "200"), "", &schema);
  Set(schema, "type", "object");
  Set(Object(Object(schema, "properties"), "status"), "type", "string");

  Struct* document = operation("/openapi.json", "OpenApi", "This document.");
  Set(Object(document, "200"), "description", "OpenAPI 3.0.3 document");
  JsonContent(Object(document, "200"), "", &schema);
  Set(schema, "type", "object");
}

// A Twilio webhook: form fields in, signature header required, TwiML (200) or nothing (204) out.
void WriteTwilioWebhook(const Route& route, Struct* operation, ListValue* parameters) {
  Struct* signature = parameters->add_values()->mutable_struct_value();
  Set(signature, "name", "X-Twilio-Signature");
  Set(signature, "in", "header");
  SetBool(signature, "required", true);
  Set(signature, "description",
      "base64 HMAC-SHA1 with TWILIO_AUTH_TOKEN over LIVECALL_PUBLIC_URL + path + query + the "
      "form fields sorted by name; 403 when missing or wrong (and always when no token is "
      "configured).");
  Set(Object(signature, "schema"), "type", "string");
  Struct* body = Object(operation, "requestBody");
  SetBool(body, "required", true);
  Struct* schema =
      Object(Object(Object(body, "content"), "application/x-www-form-urlencoded"), "schema");
  Set(schema, "type", "object");
  Set(Object(schema, "additionalProperties"), "type", "string");
  Struct* responses = Object(operation, "responses");
  if (route.method->output_type()->full_name() == "livecall.v1.TwimlResponse") {
    Struct* ok = Object(responses, "200");
    Set(ok, "description", "TwiML");
    Set(Object(Object(Object(ok, "content"), "text/xml"), "schema"), "type", "string");
  } else {
    Set(Object(responses, "204"), "description", "Accepted; no content");
  }
  ErrorResponses(responses, /*has_body=*/true);
}

}  // namespace

absl::StatusOr<std::string> GenerateOpenApi(const RouteTable& routes) {
  Struct document;
  Set(&document, "openapi", "3.0.3");
  Struct* info = Object(&document, "info");
  Set(info, "title", "Livecall REST API");
  Set(info, "version", "v1");
  Set(info, "description",
      "Generated from the (livecall.v1.http) options of the livecall.v1 protos. JSON is the "
      "proto3 JSON mapping: lowerCamelCase names (proto names are accepted on input), 64-bit "
      "integers as strings, timestamps as RFC 3339 strings. Unknown fields are rejected.");
  Struct* paths = Object(&document, "paths");
  Struct* components = Object(&document, "components");
  SchemaWriter schemas(Object(components, "schemas"));

  absl::flat_hash_map<const google::protobuf::MethodDescriptor*, int> bindings_seen;
  for (const Route& route : routes.routes()) {
    if (route.builtin) continue;  // WriteFixedPaths.
    const int index = bindings_seen[route.method]++;
    Struct* operation =
        Object(Object(paths, route.path.pattern()), absl::AsciiStrToLower(route.http_method));
    const std::string service = route.method->service()->name();
    Set(operation, "operationId",
        index == 0 ? absl::StrCat(service, "_", route.method->name())
                   : absl::StrCat(service, "_", route.method->name(), "_", index + 1));
    Append(List(operation, "tags"), service);
    if (!route.summary.empty()) Set(operation, "summary", route.summary);
    Set(operation, "description",
        absl::StrCat("gRPC ", route.grpc_path, route.is_alias ? " (alias path)." : "."));

    // Who may call it, per operation: the bearer scheme, or nobody's credentials (public routes
    // and Twilio webhooks, which carry their own signature).
    ListValue* security = List(operation, "security");
    if (route.access == RouteAccess::kBearer) {
      List(security->add_values()->mutable_struct_value(), "bearerAuth");
      if (!route.roles.empty()) {
        ListValue* roles = List(operation, "x-livecall-roles");
        for (Role role : route.roles) Append(roles, RoleName(role));
      }
    }

    ListValue* parameters = List(operation, "parameters");
    absl::flat_hash_set<const FieldDescriptor*> bound;
    for (const PathTemplate::Segment& segment : route.path.segments()) {
      if (!segment.is_variable) continue;
      bound.insert(segment.field);
      Struct* parameter = parameters->add_values()->mutable_struct_value();
      Set(parameter, "name", segment.field->name());
      Set(parameter, "in", "path");
      SetBool(parameter, "required", true);
      Set(Object(parameter, "schema"), "type", "string");
    }
    const Descriptor* input = route.method->input_type();
    if (route.twilio_webhook) {
      WriteTwilioWebhook(route, operation, parameters);
      continue;
    }
    if (route.server_sent_events) {
      Struct* resume = parameters->add_values()->mutable_struct_value();
      Set(resume, "name", "Last-Event-ID");
      Set(resume, "in", "header");
      SetBool(resume, "required", false);
      Set(resume, "description", "Resume after this event id (what EventSource sends itself).");
      Set(Object(resume, "schema"), "type", "string");
      Struct* resume_query = parameters->add_values()->mutable_struct_value();
      Set(resume_query, "name", "lastEventId");
      Set(resume_query, "in", "query");
      SetBool(resume_query, "required", false);
      Set(Object(resume_query, "schema"), "type", "string");
      Struct* responses = Object(operation, "responses");
      Struct* ok = Object(responses, "200");
      Set(ok, "description",
          "Server-Sent Events: id = event id, event = LiveEvent.type, data = LiveEvent JSON "
          "(see the schema); \": ping\" comments keep the connection alive.");
      Struct* stream_schema = Object(Object(Object(ok, "content"), "text/event-stream"), "schema");
      schemas.TypeSchema(route.method->output_type(), stream_schema);
      ErrorResponses(responses, false);
      continue;
    }
    if (route.body_is_request) {
      Struct* body = Object(operation, "requestBody");
      SetBool(body, "required", false);
      Set(body, "description",
          bound.empty() ? "The request; an empty body is {}."
                        : "The request; fields bound by the path are taken from the path.");
      Struct* schema = nullptr;
      JsonContent(body, "", &schema);
      schemas.TypeSchema(input, schema);
    } else {
      for (int i = 0; i < input->field_count(); ++i) {
        const FieldDescriptor* field = input->field(i);
        if (bound.contains(field) || field->is_map() ||
            field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          continue;
        }
        Struct* parameter = parameters->add_values()->mutable_struct_value();
        Set(parameter, "name", field->json_name());
        Set(parameter, "in", "query");
        SetBool(parameter, "required", false);
        schemas.FieldSchema(field, Object(parameter, "schema"));
        if (field->is_repeated()) {
          Set(parameter, "style", "form");
          SetBool(parameter, "explode", true);
        }
      }
    }
    if (parameters->values_size() == 0) operation->mutable_fields()->erase("parameters");

    Struct* responses = Object(operation, "responses");
    Struct* ok = Object(responses, "200");
    if (route.raw_response) {
      // Bytes with their own Content-Type (audio/wav for speech), Cache-Control and ETag.
      Set(ok, "description", "The bytes, with their own Content-Type, Cache-Control and ETag.");
      Struct* binary = Object(Object(Object(ok, "content"), "*/*"), "schema");
      Set(binary, "type", "string");
      Set(binary, "format", "binary");
      Set(Object(responses, "304"), "description", "Not modified (If-None-Match).");
      ErrorResponses(responses, false);
      continue;
    }
    Set(ok, "description", "OK");
    Struct* schema = nullptr;
    JsonContent(ok, "", &schema);
    schemas.TypeSchema(route.method->output_type(), schema);
    ErrorResponses(responses, route.body_is_request);
  }
  schemas.Flush();
  WriteErrorComponents(components);
  Struct* bearer = Object(Object(components, "securitySchemes"), "bearerAuth");
  Set(bearer, "type", "http");
  Set(bearer, "scheme", "bearer");
  Set(bearer, "bearerFormat", "JWT");
  Set(bearer, "description",
      "A JWT: HS256 with LIVECALL_JWT_SECRET (what POST /api/auth/dev-login issues) or RS256/ES256 "
      "with LIVECALL_JWT_PUBLIC_KEY_FILE; exp required; sub is the agent (and its Twilio client "
      "identity), role is agent (default), supervisor or service. 401 with WWW-Authenticate "
      "without a valid one, 403 when the role or the call/session's owner does not allow it.");
  List(List(&document, "security")->add_values()->mutable_struct_value(), "bearerAuth");
  WriteFixedPaths(paths);

  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(document, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("openapi: ", std::string(status.message())));
  }
  return json;
}

}  // namespace livecall::gateway
