#ifndef LIVECALL_SERVICES_CONTEXT_SESSION_WIRE_H_
#define LIVECALL_SERVICES_CONTEXT_SESSION_WIRE_H_

// The bytes context stores and publishes for a write, assembled from parts serialised once.
// A turn is stored as its wire bytes and published inside a live event; the suggestions are
// stored with their kinds also as the previous version's strings (SerializeWithLegacyEnumStrings)
// and published without them; a new session's header is stored and published inside its
// session.started event. Building each event as a message copied those parts into it, serialised
// them again and freed the copies, per write: here each part is serialised once and the event's
// wire bytes are its envelope's followed by the part (generated code writes fields in number
// order, the payload's after the envelope's), so the JSON is printed from the same bytes as
// before. tests/unit/context/session_wire_test.cc holds both to the library's output.

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "livecall/v1/context.pb.h"

namespace livecall::context {

// Appends field `number` with the length-delimited value `bytes` (a string, bytes or an embedded
// message's wire bytes) to `wire`.
void AppendLengthDelimited(int number, absl::string_view bytes, std::string* wire);

// A SuggestionList's wire bytes for the page (as SerializeAsString writes them) and for storage
// (as SerializeWithLegacyEnumStrings writes them), from one serialisation of each suggestion.
struct SuggestionListWire {
  std::string plain;
  std::string stored;
};
SuggestionListWire SerializeSuggestionList(
    const google::protobuf::RepeatedPtrField<livecall::v1::Suggestion>& suggestions);

// ReadLegacyEnumStrings(list), without reflection: each suggestion's kind from the string the
// previous version stored under the old field number (the string wins when both are there),
// which is then dropped.
void ReadLegacySuggestionKinds(livecall::v1::SuggestionList* list);

// The JSON of `envelope` (type, ids, time; no payload) with its payload field `payload_field`
// set to the message whose wire bytes are `payload`, exactly as PrintJson prints that event
// (empty fields left out).
std::string LiveEventJson(const livecall::v1::LiveEvent& envelope, int payload_field,
                          absl::string_view payload);

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_SESSION_WIRE_H_
