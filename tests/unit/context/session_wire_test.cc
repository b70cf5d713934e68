#include "services/context/session_wire.h"

#include <cmath>

#include "common/enum_json.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall::context {
namespace {

using livecall::v1::LiveEvent;
using livecall::v1::Suggestion;
using livecall::v1::SuggestionList;

SuggestionList SuggestionsOfEveryKind() {
  SuggestionList list;
  const livecall::v1::SuggestionKind kinds[] = {
      livecall::v1::SUGGESTION_KIND_ANSWER, livecall::v1::SUGGESTION_KIND_NEXT_STEP,
      livecall::v1::SUGGESTION_KIND_WARNING, livecall::v1::SUGGESTION_KIND_UNSPECIFIED};
  int n = 0;
  for (livecall::v1::SuggestionKind kind : kinds) {
    Suggestion* suggestion = list.add_suggestions();
    suggestion->set_id("kb-" + std::to_string(++n));
    suggestion->set_text("Routerni qayta yoqing — «перезагрузите» \"router\"\n");
    suggestion->set_kind(kind);
    suggestion->set_source("kb");
    suggestion->set_confidence(0.1f * static_cast<float>(n) + 0.0333f);
  }
  return list;
}

LiveEvent Envelope(const std::string& type, const std::string& call_sid) {
  LiveEvent event;
  event.set_type(type);
  event.set_session_id("ses_0123456789abcdef0123456789abcdef");
  event.set_call_sid(call_sid);
  *event.mutable_at() = ToProtoTimestamp(absl::FromUnixNanos(1800000000123456789));
  return event;
}

TEST(SerializeSuggestionListTest, WritesTheLibrarysBytesForThePageAndForStorage) {
  const SuggestionList list = SuggestionsOfEveryKind();
  const SuggestionListWire wire = SerializeSuggestionList(list.suggestions());
  EXPECT_EQ(wire.plain, list.SerializeAsString());
  EXPECT_EQ(wire.stored, SerializeWithLegacyEnumStrings(list));

  // Read back as the previous version's string and as this version's enum.
  SuggestionList stored;
  ASSERT_TRUE(stored.ParseFromString(wire.stored));
  ReadLegacyEnumStrings(&stored);
  EXPECT_EQ(stored.SerializeAsString(), list.SerializeAsString());
}

TEST(SerializeSuggestionListTest, NoSuggestionsAreNoBytes) {
  const SuggestionListWire wire = SerializeSuggestionList({});
  EXPECT_EQ(wire.plain, "");
  EXPECT_EQ(wire.stored, SerializeWithLegacyEnumStrings(SuggestionList()));
}

// A suggestion from a previous-version peer carries its kind as an unknown string field: kept
// as the library keeps it, with the spelling added after it.
TEST(SerializeSuggestionListTest, KeepsUnknownFieldsAsTheLibraryDoes) {
  SuggestionList list = SuggestionsOfEveryKind();
  std::string with_unknown = list.suggestions(0).SerializeAsString();
  AppendLengthDelimited(3, "warning", &with_unknown);
  AppendLengthDelimited(99, "from the future", &with_unknown);
  ASSERT_TRUE(list.mutable_suggestions(0)->ParseFromString(with_unknown));
  const SuggestionListWire wire = SerializeSuggestionList(list.suggestions());
  EXPECT_EQ(wire.plain, list.SerializeAsString());
  EXPECT_EQ(wire.stored, SerializeWithLegacyEnumStrings(list));
}

// Lists as this version stores them, as the previous version stored them (the string alone), as
// a previous-version replica rewrote them (both, the string changed) and with a spelling nobody
// knows: read as ReadLegacyEnumStrings reads them.
TEST(ReadLegacySuggestionKindsTest, ReadsWhatReadLegacyEnumStringsReads) {
  const SuggestionList list = SuggestionsOfEveryKind();
  std::vector<std::string> stored = {SerializeSuggestionList(list.suggestions()).stored};
  std::string previous, rewritten, unknown_spelling;
  for (const Suggestion& item : list.suggestions()) {
    Suggestion without_kind = item;
    without_kind.clear_kind();
    std::string old = without_kind.SerializeAsString();
    if (item.kind() != livecall::v1::SUGGESTION_KIND_UNSPECIFIED) {
      AppendLengthDelimited(3, EnumJsonName(item.kind()), &old);
    }
    AppendLengthDelimited(1, old, &previous);
    std::string both = item.SerializeAsString();
    AppendLengthDelimited(3, "warning", &both);
    AppendLengthDelimited(3, "next-step", &both);
    AppendLengthDelimited(1, both, &rewritten);
    std::string odd = item.SerializeAsString();
    AppendLengthDelimited(3, "urgent", &odd);
    AppendLengthDelimited(1, odd, &unknown_spelling);
  }
  stored.push_back(previous);
  stored.push_back(rewritten);
  stored.push_back(unknown_spelling);
  for (const std::string& bytes : stored) {
    SuggestionList by_library;
    ASSERT_TRUE(by_library.ParseFromString(bytes));
    SuggestionList by_hand = by_library;
    ReadLegacyEnumStrings(&by_library);
    ReadLegacySuggestionKinds(&by_hand);
    EXPECT_EQ(by_hand.SerializeAsString(), by_library.SerializeAsString());
  }
}

TEST(AppendLengthDelimitedTest, WritesTagLengthAndBytesAsProtobufDoes) {
  LiveEvent event;
  event.set_type(std::string(300, 'x'));  // A length of two varint bytes.
  std::string wire;
  AppendLengthDelimited(LiveEvent::kTypeFieldNumber, event.type(), &wire);
  EXPECT_EQ(wire, event.SerializeAsString());
}

// The event's JSON from its envelope and its payload's bytes is what PrintJson prints for the
// whole event, for each payload context publishes, with and without a call.
TEST(LiveEventJsonTest, PrintsWhatPrintJsonPrintsForTheWholeEvent) {
  for (const std::string call_sid : {"", "CA0123456789abcdef0123456789abcdef"}) {
    LiveEvent transcript = Envelope("transcript", call_sid);
    livecall::v1::Turn& turn = *transcript.mutable_turn();
    turn.set_speaker("customer");
    turn.set_text("Internetim ishlamayapti, «помогите»\t\"tez\" \\ </script>");
    *turn.mutable_at() = ToProtoTimestamp(absl::FromUnixMillis(1800000000500));
    EXPECT_EQ(LiveEventJson(Envelope("transcript", call_sid), LiveEvent::kTurnFieldNumber,
                            turn.SerializeAsString()),
              *PrintJson(transcript));

    LiveEvent suggested = Envelope("suggestions", call_sid);
    *suggested.mutable_suggestions() = SuggestionsOfEveryKind();
    EXPECT_EQ(LiveEventJson(Envelope("suggestions", call_sid), LiveEvent::kSuggestionsFieldNumber,
                            SerializeSuggestionList(suggested.suggestions().suggestions()).plain),
              *PrintJson(suggested));

    LiveEvent started = Envelope("session.started", call_sid);
    livecall::v1::Session& header = *started.mutable_session();
    header.set_session_id(started.session_id());
    header.set_call_sid(call_sid);
    header.set_phone_number("+998901112233");
    header.set_language("uz");
    header.set_greeting("Assalomu alaykum, Dilshod!");
    header.set_status("active");
    livecall::v1::Customer& customer = *header.mutable_customer();
    customer.set_name("Dilshod Karimov");
    customer.set_known(true);
    (*customer.mutable_attributes())["plan"] = "Uy interneti 100 Mbit/s";
    (*customer.mutable_attributes())["balance"] = "45000 so'm";
    customer.add_notes("Kechqurun qo'ng'iroq qilishni afzal ko'radi");
    *header.mutable_created_at() = started.at();
    EXPECT_EQ(LiveEventJson(Envelope("session.started", call_sid), LiveEvent::kSessionFieldNumber,
                            header.SerializeAsString()),
              *PrintJson(started));
  }
}

// What the one-pass printer leaves to protobuf's converter (a non-finite float) still prints as
// PrintJson prints it.
TEST(LiveEventJsonTest, PrintsWhatTheConverterPrintsForWhatTheOnePassPrinterLeavesToIt) {
  LiveEvent suggested = Envelope("suggestions", "");
  Suggestion& suggestion = *suggested.mutable_suggestions()->add_suggestions();
  suggestion.set_id("kb-1");
  suggestion.set_confidence(std::nanf(""));
  EXPECT_EQ(LiveEventJson(Envelope("suggestions", ""), LiveEvent::kSuggestionsFieldNumber,
                          suggested.suggestions().SerializeAsString()),
            *PrintJson(suggested));
}

}  // namespace
}  // namespace livecall::context
