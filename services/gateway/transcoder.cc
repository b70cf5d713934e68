#include "services/gateway/transcoder.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/enum_json.h"
#include "common/wire_json.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The contract's types with the enum spellings of http.proto's json_name (common/enum_json.h),
// each built once.
google::protobuf::util::TypeResolver& SharedTypeResolver() { return *EnumJsonTypeResolver(); }

std::string TypeUrl(const Descriptor* type) { return TypeUrlOf(type); }

google::protobuf::util::JsonParseOptions StrictParseOptions() {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  options.case_insensitive_enum_parsing = false;
  return options;
}

google::protobuf::util::JsonPrintOptions StablePrintOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  options.always_print_enums_as_ints = false;
  return options;
}

// The wire bytes of a JSON body (within CheckJsonLimits): wire_json.h's one pass, or protobuf's
// converter for what that leaves to it, which also words every refusal.
absl::Status JsonBodyToWire(const Descriptor* type, absl::string_view json, std::string* wire) {
  if (JsonToWire(type, json, wire)) return absl::OkStatus();
  wire->clear();
  google::protobuf::util::Status status = google::protobuf::util::JsonToBinaryString(
      &SharedTypeResolver(), TypeUrl(type), google::protobuf::StringPiece(json.data(), json.size()),
      wire, StrictParseOptions());
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON body: ", WithAcceptedSpellings(std::string(status.message()))));
  }
  return absl::OkStatus();
}

const FieldDescriptor* FindFieldByEitherName(const Descriptor* type, const std::string& name) {
  if (const FieldDescriptor* field = type->FindFieldByName(name); field != nullptr) return field;
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
}

// Sets (or, for a repeated field, appends) one query parameter's value.
absl::Status SetPrimitive(Message* message, const FieldDescriptor* field, const std::string& text) {
  const Reflection* reflection = message->GetReflection();
  const bool repeated = field->is_repeated();
  auto bad = [&](absl::string_view expected) {
    return absl::InvalidArgumentError(absl::StrCat("query parameter \"", field->json_name(),
                                                   "\": \"", text, "\" is not ", expected));
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value = text;
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        if (!absl::Base64Unescape(text, &value) && !absl::WebSafeBase64Unescape(text, &value)) {
          return bad("base64");
        }
      }
      repeated ? reflection->AddString(message, field, std::move(value))
               : reflection->SetString(message, field, std::move(value));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool value = false;
      if (text == "true") {
        value = true;
      } else if (text != "false") {
        return bad("true or false");
      }
      repeated ? reflection->AddBool(message, field, value)
               : reflection->SetBool(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return bad("a 32-bit integer");
      repeated ? reflection->AddInt32(message, field, value)
               : reflection->SetInt32(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return bad("a 64-bit integer");
      repeated ? reflection->AddInt64(message, field, value)
               : reflection->SetInt64(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return bad("an unsigned 32-bit integer");
      repeated ? reflection->AddUInt32(message, field, value)
               : reflection->SetUInt32(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) return bad("an unsigned 64-bit integer");
      repeated ? reflection->AddUInt64(message, field, value)
               : reflection->SetUInt64(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float value = 0;
      if (!absl::SimpleAtof(text, &value)) return bad("a number");
      repeated ? reflection->AddFloat(message, field, value)
               : reflection->SetFloat(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double value = 0;
      if (!absl::SimpleAtod(text, &value)) return bad("a number");
      repeated ? reflection->AddDouble(message, field, value)
               : reflection->SetDouble(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* value =
          FindEnumValueByJsonName(field->enum_type(), text);
      if (value == nullptr)
        return bad(absl::StrCat("one of ", EnumJsonNameList(field->enum_type())));
      repeated ? reflection->AddEnum(message, field, value)
               : reflection->SetEnum(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("query parameter \"", field->json_name(),
                                                 "\" names a message field; send a JSON body"));
}

absl::Status ApplyQuery(const RouteMatch& match, absl::string_view query, Message* message) {
  if (query.empty()) return absl::OkStatus();
  if (match.route->body_is_request) {
    return absl::InvalidArgumentError(
        "this route takes its input as a JSON body, not as query parameters");
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> params = ParseQuery(query);
  if (!params.ok()) return params.status();
  absl::flat_hash_set<const FieldDescriptor*> seen;
  for (const auto& [name, value] : *params) {
    const FieldDescriptor* field = FindFieldByEitherName(message->GetDescriptor(), name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown query parameter \"", name, "\""));
    }
    for (const auto& [bound, unused] : match.bindings) {
      if (bound == field) {
        return absl::InvalidArgumentError(
            absl::StrCat("query parameter \"", name, "\" is already given by the path"));
      }
    }
    if (!seen.insert(field).second && !field->is_repeated()) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\" is given more than once"));
    }
    if (field->is_map()) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\" names a map field; send a JSON body"));
    }
    if (absl::Status set = SetPrimitive(message, field, value); !set.ok()) return set;
  }
  return absl::OkStatus();
}

}  // namespace

bool IsEmptyJsonBody(absl::string_view body) {
  body = absl::StripAsciiWhitespace(body);
  if (body.empty()) return true;
  // `{}` (with any whitespace inside): what web code's fetch wrappers send for "no fields".
  return body.size() >= 2 && body.front() == '{' && body.back() == '}' &&
         absl::StripAsciiWhitespace(body.substr(1, body.size() - 2)).empty();
}

std::unique_ptr<Message> NewMessage(const Descriptor* type) {
  const Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  return std::unique_ptr<Message>(prototype->New());
}

absl::Status CheckJsonLimits(absl::string_view json) {
  int depth = 0;
  size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid JSON body: nested deeper than ", kMaxJsonDepth, " levels"));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      // Characters of the string: an escape sequence or a UTF-8 sequence counts as one.
      size_t characters = 0;
      ++i;
      while (i < json.size() && json[i] != '"') {
        if (json[i] == '\\') {
          i += (i + 1 < json.size() && json[i + 1] == 'u') ? 6 : 2;
        } else {
          ++i;
          while (i < json.size() && (static_cast<unsigned char>(json[i]) & 0xC0) == 0x80) ++i;
        }
        if (++characters > kMaxJsonStringLength) {
          return absl::InvalidArgumentError(absl::StrCat(
              "invalid JSON body: a string is longer than ", kMaxJsonStringLength, " characters"));
        }
      }
    }
    ++i;
  }
  return absl::OkStatus();
}

absl::Status JsonToMessage(absl::string_view json, Message* message) {
  // An empty POST body means "no fields", as `{}` would.
  if (absl::StripAsciiWhitespace(json).empty()) json = "{}";
  // Checked before protobuf parses: its parser recurses per level and copies every string.
  if (absl::Status within = CheckJsonLimits(json); !within.ok()) return within;
  std::string binary;
  if (absl::Status converted = JsonBodyToWire(message->GetDescriptor(), json, &binary);
      !converted.ok()) {
    return converted;
  }
  if (!message->ParseFromString(binary)) {
    return absl::InvalidArgumentError("invalid JSON body: not a valid message");
  }
  return absl::OkStatus();
}

namespace {

// The end of the JSON value that starts at `json[i]` (a string, a number, a literal, or a nested
// object or array), for a document already known to be valid JSON.
size_t JsonValueEnd(absl::string_view json, size_t i) {
  int depth = 0;
  bool in_string = false;
  for (; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;  // The enclosing object's end.
      if (--depth == 0) return i + 1;
    } else if (c == ',' && depth == 0) {
      return i;
    }
  }
  return json.size();
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Appends the path variables as the wire bytes a message holding only them serializes to: each
// a length-delimited field, in field-number order (what AppendToString writes), without building
// the message. False, appending nothing, when a field is in a oneof: left to the message.
bool AppendBoundStrings(const std::vector<std::pair<const FieldDescriptor*, std::string>>& bindings,
                        std::string* wire) {
  absl::InlinedVector<const std::pair<const FieldDescriptor*, std::string>*, 4> ordered;
  for (const auto& binding : bindings) {
    if (binding.first->real_containing_oneof() != nullptr) return false;
    ordered.push_back(&binding);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto* a, const auto* b) { return a->first->number() < b->first->number(); });
  for (const auto* binding : ordered) {
    const auto& [field, value] = *binding;
    // A proto3 string without presence is not written when empty.
    if (value.empty() && !field->has_presence()) continue;
    AppendVarint(static_cast<uint64_t>(field->number()) << 3 |
                     google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED,
                 wire);
    AppendVarint(value.size(), wire);
    wire->append(value);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> JsonObjectToParams(
    absl::string_view json) {
  if (absl::Status within = CheckJsonLimits(json); !within.ok()) return within;
  // protobuf's parser says whether it is a JSON object at all.
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(json.data(), json.size()), &object)
           .ok()) {
    return absl::InvalidArgumentError("invalid JSON body: not a JSON object");
  }
  // Then each member as it was sent: a string's decoded text, any other value's own JSON text
  // (re-printing it would reorder a nested object's keys at random).
  auto decode_string = [](absl::string_view literal) -> absl::StatusOr<std::string> {
    google::protobuf::Value value;
    if (!google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(literal.data(), literal.size()), &value)
             .ok() ||
        value.kind_case() != google::protobuf::Value::kStringValue) {
      return absl::InvalidArgumentError("invalid JSON body");
    }
    return value.string_value();
  };
  auto skip_space = [&json](size_t i) {
    while (i < json.size() && IsJsonSpace(json[i])) ++i;
    return i;
  };
  std::vector<std::pair<std::string, std::string>> params;
  size_t i = skip_space(0) + 1;  // Past '{'.
  while (true) {
    i = skip_space(i);
    if (i >= json.size() || json[i] == '}') break;
    const size_t key_end = JsonValueEnd(json, i);
    absl::StatusOr<std::string> name = decode_string(json.substr(i, key_end - i));
    if (!name.ok()) return name.status();
    i = skip_space(key_end) + 1;  // Past ':'.
    i = skip_space(i);
    if (i >= json.size()) return absl::InvalidArgumentError("invalid JSON body");
    const size_t value_end = JsonValueEnd(json, i);
    const absl::string_view raw = absl::StripTrailingAsciiWhitespace(json.substr(i, value_end - i));
    if (!raw.empty() && raw.front() == '"') {
      absl::StatusOr<std::string> text = decode_string(raw);
      if (!text.ok()) return text.status();
      params.emplace_back(*std::move(name), *std::move(text));
    } else {
      params.emplace_back(*std::move(name), std::string(raw));
    }
    i = skip_space(value_end);
    if (i < json.size() && json[i] == ',') ++i;
  }
  return params;
}

absl::StatusOr<std::string> MessageToJson(const Message& message) {
  const std::string wire = message.SerializeAsString();
  std::string json;
  if (WireToJson(message.GetDescriptor(), wire, &json)) return json;
  json.clear();
  google::protobuf::util::Status status = google::protobuf::util::BinaryToJsonString(
      &SharedTypeResolver(), TypeUrl(message.GetDescriptor()), wire, &json, StablePrintOptions());
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ", message.GetTypeName(),
                                            " as JSON: ", std::string(status.message())));
  }
  return json;
}

absl::StatusOr<std::unique_ptr<Message>> BuildRequestMessage(const RouteMatch& match,
                                                             absl::string_view body,
                                                             absl::string_view query) {
  std::unique_ptr<Message> request = NewMessage(match.route->method->input_type());
  if (match.route->body_is_request) {
    if (absl::Status parsed = JsonToMessage(body, request.get()); !parsed.ok()) return parsed;
  } else if (!IsEmptyJsonBody(body)) {
    return absl::InvalidArgumentError(
        "this route takes no request body (send none, or the empty JSON object {})");
  }
  if (absl::Status applied = ApplyQuery(match, query, request.get()); !applied.ok()) {
    return applied;
  }
  const Reflection* reflection = request->GetReflection();
  for (const auto& [field, value] : match.bindings) {
    reflection->SetString(request.get(), field, value);
  }
  return request;
}

absl::StatusOr<std::string> BuildRequestPayload(const RouteMatch& match, absl::string_view body,
                                                absl::string_view query) {
  if (!match.route->body_is_request) {
    absl::StatusOr<std::unique_ptr<Message>> request = BuildRequestMessage(match, body, query);
    if (!request.ok()) return request.status();
    std::string payload;
    if (!(*request)->SerializeToString(&payload)) {
      return absl::InternalError("cannot serialize the request");
    }
    return payload;
  }
  if (!query.empty()) {
    return absl::InvalidArgumentError(
        "this route takes its input as a JSON body, not as query parameters");
  }
  // An empty POST body means "no fields", as `{}` would.
  if (absl::StripAsciiWhitespace(body).empty()) body = "{}";
  // Checked before protobuf parses: its parser recurses per level and copies every string.
  if (absl::Status within = CheckJsonLimits(body); !within.ok()) return within;
  std::string payload;
  if (absl::Status converted = JsonBodyToWire(match.route->method->input_type(), body, &payload);
      !converted.ok()) {
    return converted;
  }
  // Path variables override the body: a message's wire bytes followed by more fields parse as
  // the merge of both, where a later singular field replaces an earlier one.
  if (!match.bindings.empty() && !AppendBoundStrings(match.bindings, &payload)) {
    std::unique_ptr<Message> bound = NewMessage(match.route->method->input_type());
    for (const auto& [field, value] : match.bindings) {
      bound->GetReflection()->SetString(bound.get(), field, value);
    }
    if (!bound->AppendToString(&payload)) {
      return absl::InternalError("cannot serialize the request");
    }
  }
  return payload;
}

absl::StatusOr<std::string> PayloadToJson(const Descriptor* type, const std::string& payload) {
  std::string json;
  json.reserve(payload.size() * 2 + 256);
  if (WireToJson(type, payload, &json)) return json;
  json.clear();
  // protobuf's converter for what WireToJson leaves to it (wire_json.h). It prints what it can of
  // truncated bytes; a walk of the wire format (no message built) refuses them as ParseFromString
  // did.
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(payload.data()),
                                               static_cast<int>(payload.size()));
  if (!google::protobuf::internal::WireFormatLite::SkipMessage(&input) ||
      input.BytesUntilLimit() > 0 || !input.ExpectAtEnd()) {
    return absl::InternalError(
        absl::StrCat("the backend's answer is not a ", type->full_name(), ": malformed bytes"));
  }
  google::protobuf::util::Status status = google::protobuf::util::BinaryToJsonString(
      &SharedTypeResolver(), TypeUrl(type), payload, &json, StablePrintOptions());
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("the backend's answer is not a ", type->full_name(),
                                            ": ", std::string(status.message())));
  }
  return json;
}

}  // namespace livecall::gateway
