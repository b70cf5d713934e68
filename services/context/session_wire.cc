#include "services/context/session_wire.h"

#include <google/protobuf/unknown_field_set.h>

#include "common/enum_json.h"
#include "common/wire_json.h"
#include "livecall/v1/http.pb.h"

namespace livecall::context {
namespace {

using livecall::v1::LiveEvent;
using livecall::v1::Suggestion;

void AppendVarint(uint32_t value, std::string* wire) {
  while (value >= 0x80) {
    wire->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  wire->push_back(static_cast<char>(value));
}

// The field number of the string Suggestion.kind replaced (its replaces_string_field option).
int LegacyKindField() {
  static const int number = Suggestion::descriptor()
                                ->FindFieldByNumber(Suggestion::kKindFieldNumber)
                                ->options()
                                .GetExtension(livecall::v1::replaces_string_field);
  return number;
}

}  // namespace

void AppendLengthDelimited(int number, absl::string_view bytes, std::string* wire) {
  constexpr uint32_t kLengthDelimited = 2;
  AppendVarint(static_cast<uint32_t>(number) << 3 | kLengthDelimited, wire);
  AppendVarint(static_cast<uint32_t>(bytes.size()), wire);
  wire->append(bytes.data(), bytes.size());
}

SuggestionListWire SerializeSuggestionList(
    const google::protobuf::RepeatedPtrField<Suggestion>& suggestions) {
  constexpr int kSuggestionsField = livecall::v1::SuggestionList::kSuggestionsFieldNumber;
  SuggestionListWire wire;
  std::string suggestion;
  for (const Suggestion& item : suggestions) {
    suggestion.clear();
    item.SerializeToString(&suggestion);
    AppendLengthDelimited(kSuggestionsField, suggestion, &wire.plain);
    // SerializeWithLegacyEnumStrings adds the spelling as an unknown field, which protobuf writes
    // after the known ones; UNSPECIFIED's "" is left out, as proto3 left out an empty string.
    const std::string& spelling = EnumJsonName(item.kind());
    if (!spelling.empty()) AppendLengthDelimited(LegacyKindField(), spelling, &suggestion);
    AppendLengthDelimited(kSuggestionsField, suggestion, &wire.stored);
  }
  return wire;
}

void ReadLegacySuggestionKinds(livecall::v1::SuggestionList* list) {
  const int number = LegacyKindField();
  for (Suggestion& suggestion : *list->mutable_suggestions()) {
    const google::protobuf::Reflection* reflection = suggestion.GetReflection();
    if (reflection->GetUnknownFields(suggestion).empty()) continue;
    google::protobuf::UnknownFieldSet* unknown = reflection->MutableUnknownFields(&suggestion);
    // The last occurrence wins, as it would have for the string field.
    const google::protobuf::EnumValueDescriptor* value = nullptr;
    bool found = false;
    for (int i = 0; i < unknown->field_count(); ++i) {
      const google::protobuf::UnknownField& legacy = unknown->field(i);
      if (legacy.number() != number ||
          legacy.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
        continue;
      }
      found = true;
      value = FindEnumValueByJsonName(livecall::v1::SuggestionKind_descriptor(),
                                      legacy.length_delimited());
    }
    if (!found) continue;
    if (value != nullptr) {
      suggestion.set_kind(static_cast<livecall::v1::SuggestionKind>(value->number()));
    }
    unknown->DeleteByNumber(number);
  }
}

std::string LiveEventJson(const LiveEvent& envelope, int payload_field, absl::string_view payload) {
  std::string wire = envelope.SerializeAsString();
  AppendLengthDelimited(payload_field, payload, &wire);
  WireJsonOptions options;
  options.always_print_primitive_fields = false;
  std::string json;
  if (WireToJson(LiveEvent::descriptor(), wire, options, &json)) return json;
  // What the one-pass printer leaves to protobuf's converter: through PrintJson, as before.
  LiveEvent event;
  event.ParseFromString(wire);
  return PrintJson(event).value_or("");
}

}  // namespace livecall::context
