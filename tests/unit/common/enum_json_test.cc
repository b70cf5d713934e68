#include "common/enum_json.h"

#include <google/protobuf/unknown_field_set.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/auth.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::livecall::v1::Call;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

bool HasUnknownFields(const google::protobuf::Message& message) {
  return !message.GetReflection()->GetUnknownFields(message).empty();
}

google::protobuf::util::JsonPrintOptions EveryField() {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  return options;
}

TEST(EnumJsonTest, PrintsEachValueAsItsJsonSpelling) {
  Call call;
  call.set_status(v1::CALL_STATUS_IN_PROGRESS);
  call.set_mode(v1::CALL_MODE_AI);
  call.add_history()->set_status(v1::CALL_STATUS_NO_ANSWER);
  absl::StatusOr<std::string> json = PrintJson(call);
  ASSERT_THAT(json.status(), IsOk());
  EXPECT_THAT(*json, HasSubstr(R"("status":"in-progress")"));
  EXPECT_THAT(*json, HasSubstr(R"("mode":"ai")"));
  EXPECT_THAT(*json, HasSubstr(R"("history":[{"status":"no-answer"}])"));
  EXPECT_THAT(*json, Not(HasSubstr("CALL_")));
}

// What a string field left empty printed before it became an enum.
TEST(EnumJsonTest, UnspecifiedPrintsAsTheEmptyString) {
  Call call;
  call.set_call_sid("CA1");
  const std::string every_field = PrintJson(call, EveryField()).value_or("");
  EXPECT_THAT(every_field, HasSubstr(R"("status":"")"));
  EXPECT_THAT(every_field, HasSubstr(R"("mode":"")"));
  EXPECT_EQ(PrintJson(call).value_or(""), R"({"callSid":"CA1"})");
}

TEST(EnumJsonTest, ParsesTheSpellingsBack) {
  v1::PlaceCallRequest request;
  ASSERT_THAT(ParseJson(R"({"to":"+998901112233","mode":"agent"})", &request), IsOk());
  EXPECT_EQ(request.mode(), v1::CALL_MODE_AGENT);
  ASSERT_THAT(ParseJson(R"({"mode":""})", &request), IsOk());
  EXPECT_EQ(request.mode(), v1::CALL_MODE_UNSPECIFIED);

  Call call;
  call.set_status(v1::CALL_STATUS_CANCELED);
  call.set_mode(v1::CALL_MODE_TTS);
  call.add_history()->set_status(v1::CALL_STATUS_QUEUED);
  Call parsed;
  ASSERT_THAT(ParseJson(PrintJson(call).value_or(""), &parsed), IsOk());
  EXPECT_EQ(parsed.SerializeAsString(), call.SerializeAsString());
}

TEST(EnumJsonTest, AnUnknownSpellingIsRejectedNamingTheAcceptedOnes) {
  v1::PlaceCallRequest request;
  const absl::Status robot = ParseJson(R"({"mode":"robot"})", &request);
  EXPECT_THAT(robot, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mode")));
  EXPECT_THAT(robot.message(), HasSubstr(R"(robot)"));
  EXPECT_THAT(robot.message(), HasSubstr(R"(expected "tts", "ai" or "agent")"));
  // The enum's own names are not spellings of the JSON.
  EXPECT_THAT(ParseJson(R"({"mode":"CALL_MODE_AI"})", &request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJson(R"({"mode":"AI"})", &request),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EnumJsonTest, NamesAndSpellingsOfGeneratedEnums) {
  EXPECT_EQ(EnumJsonName(v1::CALL_STATUS_NO_ANSWER), "no-answer");
  EXPECT_EQ(EnumJsonName(v1::SUGGESTION_KIND_NEXT_STEP), "next-step");
  EXPECT_EQ(EnumJsonName(v1::ROLE_SUPERVISOR), "supervisor");
  EXPECT_EQ(EnumJsonName(v1::CALL_MODE_UNSPECIFIED), "");
  EXPECT_THAT(ParseEnumJsonName<v1::SuggestionKind>("warning"),
              Optional(v1::SUGGESTION_KIND_WARNING));
  EXPECT_EQ(ParseEnumJsonName<v1::SuggestionKind>("SUGGESTION_KIND_WARNING"), std::nullopt);
  EXPECT_EQ(EnumJsonNameList(v1::CallMode_descriptor()), R"("tts", "ai" or "agent")");
}

// Bytes of a Call as the previous version stored it: status (4) and mode (21) as strings, and a
// history event with its status (1) as a string. Written by hand from the old field numbers.
std::string PreviousVersionCallBytes(const std::string& status) {
  std::string bytes;
  bytes +=
      "\x0a\x04"
      "CA01";                                                                   // 1: call_sid
  bytes += "\x22" + std::string(1, static_cast<char>(status.size())) + status;  // 4: status
  bytes +=
      "\x52\x08"
      "\x0a\x06"
      "queued";  // 10: history { 1: status }
  bytes +=
      "\xaa\x01\x02"
      "ai";  // 21: mode
  return bytes;
}

TEST(LegacyEnumStringsTest, ARecordOfThePreviousVersionReadsWithItsEnums) {
  Call call;
  ASSERT_TRUE(call.ParseFromString(PreviousVersionCallBytes("in-progress")));
  ReadLegacyEnumStrings(&call);
  EXPECT_EQ(call.call_sid(), "CA01");
  EXPECT_EQ(call.status(), v1::CALL_STATUS_IN_PROGRESS);
  EXPECT_EQ(call.mode(), v1::CALL_MODE_AI);
  ASSERT_EQ(call.history_size(), 1);
  EXPECT_EQ(call.history(0).status(), v1::CALL_STATUS_QUEUED);
  // Nothing of the old fields is left to be written again.
  EXPECT_FALSE(HasUnknownFields(call));
  EXPECT_FALSE(HasUnknownFields(call.history(0)));
}

// A previous-version replica that read a record of this version kept the enum as an unknown
// field and updated only the string: the string is the newer value.
TEST(LegacyEnumStringsTest, TheStringWinsOverAStaleEnum) {
  Call stale;
  stale.set_status(v1::CALL_STATUS_IN_PROGRESS);
  Call call;
  ASSERT_TRUE(
      call.ParseFromString(stale.SerializeAsString() + PreviousVersionCallBytes("completed")));
  ReadLegacyEnumStrings(&call);
  EXPECT_EQ(call.status(), v1::CALL_STATUS_COMPLETED);
}

TEST(LegacyEnumStringsTest, TheStoredBytesCarryTheStringsForThePreviousVersion) {
  Call call;
  call.set_call_sid("CA01");
  call.set_status(v1::CALL_STATUS_BUSY);
  call.set_mode(v1::CALL_MODE_TTS);
  call.add_history()->set_status(v1::CALL_STATUS_RINGING);
  const std::string stored = SerializeWithLegacyEnumStrings(call);
  EXPECT_FALSE(HasUnknownFields(call)) << "the message itself is left alone";

  // The previous version's parser sees field 4 and 21 as strings, the event's status as field 1.
  google::protobuf::UnknownFieldSet old_view;
  ASSERT_TRUE(old_view.ParseFromString(stored));
  std::string status, mode, event;
  for (int i = 0; i < old_view.field_count(); ++i) {
    const google::protobuf::UnknownField& field = old_view.field(i);
    if (field.number() == 4) status = field.length_delimited();
    if (field.number() == 21) mode = field.length_delimited();
    if (field.number() == 10) event = field.length_delimited();
  }
  EXPECT_EQ(status, "busy");
  EXPECT_EQ(mode, "tts");
  google::protobuf::UnknownFieldSet old_event;
  ASSERT_TRUE(old_event.ParseFromString(event));
  ASSERT_GE(old_event.field_count(), 1);
  bool found = false;
  for (int i = 0; i < old_event.field_count(); ++i) {
    if (old_event.field(i).number() == 1) {
      found = true;
      EXPECT_EQ(old_event.field(i).length_delimited(), "ringing");
    }
  }
  EXPECT_TRUE(found);

  // And this version reads it back as it was.
  Call read;
  ASSERT_TRUE(read.ParseFromString(stored));
  ReadLegacyEnumStrings(&read);
  EXPECT_EQ(read.SerializeAsString(), call.SerializeAsString());
}

TEST(LegacyEnumStringsTest, SuggestionKindsOfThePreviousVersionRead) {
  // SuggestionList { 1: Suggestion { 1: id, 3: kind } }.
  const std::string suggestion = std::string(
      "\x0a\x02"
      "s1"
      "\x1a\x09"
      "next-step");
  const std::string old_list =
      "\x0a" + std::string(1, static_cast<char>(suggestion.size())) + suggestion;
  v1::SuggestionList list;
  ASSERT_TRUE(list.ParseFromString(old_list));
  ReadLegacyEnumStrings(&list);
  ASSERT_EQ(list.suggestions_size(), 1);
  EXPECT_EQ(list.suggestions(0).id(), "s1");
  EXPECT_EQ(list.suggestions(0).kind(), v1::SUGGESTION_KIND_NEXT_STEP);
}

TEST(LegacyEnumStringsTest, MessagesWithoutSuchFieldsAreUntouched) {
  v1::Customer customer;
  customer.set_name("Dilshod");
  EXPECT_EQ(SerializeWithLegacyEnumStrings(customer), customer.SerializeAsString());
}

}  // namespace
}  // namespace livecall
