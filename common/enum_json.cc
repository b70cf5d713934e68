#include "common/enum_json.h"

#include <google/protobuf/type.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/wire_json.h"
#include "livecall/v1/http.pb.h"

namespace livecall {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kTypeUrlPrefix[] = "type.googleapis.com";

// protobuf's resolver for the generated pool, with each enum value's name replaced by its JSON
// spelling: the converter prints that name and parses by it. Each type is built once: protobuf's
// own resolver rebuilds a type's description from its descriptor on every lookup, and the JSON
// converter looks up every message type of a message each time (most of the gateway's JSON cost
// before). Thread-safe; the cache only grows, bounded by the contract's types.
class SpellingTypeResolver final : public google::protobuf::util::TypeResolver {
 public:
  SpellingTypeResolver()
      : pool_(DescriptorPool::generated_pool()),
        base_(google::protobuf::util::NewTypeResolverForDescriptorPool(kTypeUrlPrefix, pool_)) {}

  google::protobuf::util::Status ResolveMessageType(const std::string& type_url,
                                                    google::protobuf::Type* type) override {
    return Resolve(type_url, type, &types_, [this](const std::string& url, auto* out) {
      return base_->ResolveMessageType(url, out);
    });
  }

  google::protobuf::util::Status ResolveEnumType(const std::string& type_url,
                                                 google::protobuf::Enum* enum_type) override {
    return Resolve(type_url, enum_type, &enums_,
                   [this](const std::string& url, auto* out) { return BuildEnumType(url, out); });
  }

 private:
  google::protobuf::util::Status BuildEnumType(const std::string& type_url,
                                               google::protobuf::Enum* enum_type) {
    google::protobuf::util::Status status = base_->ResolveEnumType(type_url, enum_type);
    if (!status.ok()) return status;
    const size_t slash = type_url.rfind('/');
    const EnumDescriptor* descriptor = pool_->FindEnumTypeByName(
        slash == std::string::npos ? type_url : type_url.substr(slash + 1));
    if (descriptor == nullptr) return status;
    for (google::protobuf::EnumValue& value : *enum_type->mutable_enumvalue()) {
      if (const EnumValueDescriptor* described = descriptor->FindValueByNumber(value.number())) {
        value.set_name(EnumJsonName(described));
      }
    }
    return status;
  }

  template <typename T, typename Build>
  google::protobuf::util::Status Resolve(
      const std::string& type_url, T* out,
      absl::flat_hash_map<std::string, std::unique_ptr<const T>>* cache, Build build)
      ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::ReaderMutexLock lock(&mu_);
      if (auto it = cache->find(type_url); it != cache->end()) {
        *out = *it->second;
        return google::protobuf::util::Status();
      }
    }
    auto built = std::make_unique<T>();
    google::protobuf::util::Status status = build(type_url, built.get());
    if (!status.ok()) return status;  // Unknown types are not cached: not a bounded set.
    *out = *built;
    absl::MutexLock lock(&mu_);
    cache->try_emplace(type_url, std::move(built));
    return status;
  }

  const DescriptorPool* pool_;
  const std::unique_ptr<google::protobuf::util::TypeResolver> base_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<const google::protobuf::Type>> types_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<const google::protobuf::Enum>> enums_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::string WithAcceptedSpellings(std::string message) {
  const std::string marker = absl::StrCat(kTypeUrlPrefix, "/");
  const size_t at = message.find(marker);
  if (at == std::string::npos) return message;
  size_t end = at + marker.size();
  while (end < message.size() && (absl::ascii_isalnum(static_cast<unsigned char>(message[end])) ||
                                  message[end] == '.' || message[end] == '_')) {
    ++end;
  }
  const EnumDescriptor* type = DescriptorPool::generated_pool()->FindEnumTypeByName(
      message.substr(at + marker.size(), end - at - marker.size()));
  if (type == nullptr) return message;
  return absl::StrCat(message, " (expected ", EnumJsonNameList(type), ")");
}

namespace {

// Per message type: its enum fields that replaced string fields, and the message fields whose
// types have such fields somewhere inside. Computed once per type.
struct LegacyPlan {
  std::vector<std::pair<const FieldDescriptor*, int>> enum_fields;
  std::vector<const FieldDescriptor*> message_fields;
  bool empty() const { return enum_fields.empty() && message_fields.empty(); }
};

class LegacyPlans {
 public:
  const LegacyPlan& For(const Descriptor* type) {
    {
      absl::ReaderMutexLock lock(&mutex_);
      if (auto it = plans_.find(type); it != plans_.end()) return *it->second;
    }
    absl::MutexLock lock(&mutex_);
    return Build(type);
  }

 private:
  const LegacyPlan& Build(const Descriptor* type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (auto it = plans_.find(type); it != plans_.end()) return *it->second;
    // Inserted before its fields are visited: a recursive type (Struct) sees itself as empty.
    LegacyPlan& plan = *plans_.emplace(type, std::make_unique<LegacyPlan>()).first->second;
    LegacyPlan built;
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM && !field->is_repeated()) {
        const int replaced = field->options().GetExtension(livecall::v1::replaces_string_field);
        if (replaced > 0) built.enum_fields.emplace_back(field, replaced);
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_map() &&
                 !Build(field->message_type()).empty()) {
        built.message_fields.push_back(field);
      }
    }
    plan = std::move(built);
    return plan;
  }

  absl::Mutex mutex_;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<LegacyPlan>> plans_
      ABSL_GUARDED_BY(mutex_);
};

LegacyPlans& Plans() {
  static LegacyPlans* plans = new LegacyPlans();
  return *plans;
}

template <typename Visit>
void ForEachNested(Message* message, const LegacyPlan& plan, Visit visit) {
  const Reflection* reflection = message->GetReflection();
  for (const FieldDescriptor* field : plan.message_fields) {
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        visit(reflection->MutableRepeatedMessage(message, field, i));
      }
    } else if (reflection->HasField(*message, field)) {
      visit(reflection->MutableMessage(message, field));
    }
  }
}

void AddLegacyEnumStrings(Message* message) {
  const LegacyPlan& plan = Plans().For(message->GetDescriptor());
  if (plan.empty()) return;
  const Reflection* reflection = message->GetReflection();
  for (const auto& [field, number] : plan.enum_fields) {
    const std::string& spelling = EnumJsonName(reflection->GetEnum(*message, field));
    if (spelling.empty()) continue;  // proto3 never wrote an empty string either.
    reflection->MutableUnknownFields(message)->AddLengthDelimited(number, spelling);
  }
  ForEachNested(message, plan, AddLegacyEnumStrings);
}

}  // namespace

google::protobuf::util::TypeResolver* EnumJsonTypeResolver() {
  static SpellingTypeResolver* resolver = new SpellingTypeResolver();
  return resolver;
}

std::string TypeUrlOf(const Descriptor* type) {
  return absl::StrCat(kTypeUrlPrefix, "/", type->full_name());
}

absl::StatusOr<std::string> PrintJson(const Message& message,
                                      const google::protobuf::util::JsonPrintOptions& options) {
  const std::string wire = message.SerializeAsString();
  std::string json;
  // The one-pass printer (wire_json.h) prints the same bytes; protobuf's converter does what it
  // leaves alone.
  if (!options.add_whitespace && !options.always_print_enums_as_ints) {
    WireJsonOptions one_pass;
    one_pass.always_print_primitive_fields = options.always_print_primitive_fields;
    one_pass.preserve_proto_field_names = options.preserve_proto_field_names;
    if (WireToJson(message.GetDescriptor(), wire, one_pass, &json)) return json;
    json.clear();
  }
  google::protobuf::util::Status status = google::protobuf::util::BinaryToJsonString(
      EnumJsonTypeResolver(), TypeUrlOf(message.GetDescriptor()), wire, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ", message.GetTypeName(),
                                            " as JSON: ", std::string(status.message())));
  }
  return json;
}

absl::Status ParseJson(absl::string_view json, Message* message,
                       const google::protobuf::util::JsonParseOptions& options) {
  std::string binary;
  google::protobuf::util::Status status = google::protobuf::util::JsonToBinaryString(
      EnumJsonTypeResolver(), TypeUrlOf(message->GetDescriptor()),
      google::protobuf::StringPiece(json.data(), json.size()), &binary, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(WithAcceptedSpellings(std::string(status.message())));
  }
  if (!message->ParseFromString(binary)) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON does not make a valid ", message->GetTypeName()));
  }
  return absl::OkStatus();
}

const std::string& EnumJsonName(const EnumValueDescriptor* value) {
  if (value->options().HasExtension(livecall::v1::json_name)) {
    return value->options().GetExtension(livecall::v1::json_name);
  }
  return value->name();
}

const EnumValueDescriptor* FindEnumValueByJsonName(const EnumDescriptor* type,
                                                   absl::string_view text) {
  for (int i = 0; i < type->value_count(); ++i) {
    if (EnumJsonName(type->value(i)) == text) return type->value(i);
  }
  return nullptr;
}

std::string EnumJsonNameList(const EnumDescriptor* type) {
  std::vector<std::string> quoted;
  for (int i = 0; i < type->value_count(); ++i) {
    const std::string& spelling = EnumJsonName(type->value(i));
    if (!spelling.empty()) quoted.push_back(absl::StrCat("\"", spelling, "\""));
  }
  if (quoted.size() < 2) return absl::StrJoin(quoted, "");
  const std::string last = quoted.back();
  quoted.pop_back();
  return absl::StrCat(absl::StrJoin(quoted, ", "), " or ", last);
}

void ReadLegacyEnumStrings(Message* message) {
  const LegacyPlan& plan = Plans().For(message->GetDescriptor());
  if (plan.empty()) return;
  const Reflection* reflection = message->GetReflection();
  for (const auto& [field, number] : plan.enum_fields) {
    google::protobuf::UnknownFieldSet* unknown = reflection->MutableUnknownFields(message);
    if (unknown->empty()) break;
    // The last occurrence wins, as it would have for the string field.
    const EnumValueDescriptor* value = nullptr;
    bool found = false;
    for (int i = 0; i < unknown->field_count(); ++i) {
      const google::protobuf::UnknownField& legacy = unknown->field(i);
      if (legacy.number() != number ||
          legacy.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
        continue;
      }
      found = true;
      value = FindEnumValueByJsonName(field->enum_type(), legacy.length_delimited());
    }
    if (!found) continue;
    if (value != nullptr) reflection->SetEnum(message, field, value);
    unknown->DeleteByNumber(number);
  }
  ForEachNested(message, plan, ReadLegacyEnumStrings);
}

std::string SerializeWithLegacyEnumStrings(const Message& message) {
  if (Plans().For(message.GetDescriptor()).empty()) return message.SerializeAsString();
  std::unique_ptr<Message> copy(message.New());
  copy->CopyFrom(message);
  AddLegacyEnumStrings(copy.get());
  return copy->SerializeAsString();
}

}  // namespace livecall
