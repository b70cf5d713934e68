// common/json.h and common/json_file.h: JSON objects in and out through protobuf, and data files
// that are JSON arrays of proto messages.

#include "common/json.h"

#include <google/protobuf/util/message_differencer.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/json_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/data_files.pb.h"
#include "tests/support/files.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(ParseJsonObjectTest, ReadsNestedObjectsListsAndScalars) {
  absl::StatusOr<google::protobuf::Struct> object =
      ParseJsonObject(R"({"sid":"CA1","count":3,"hold":true,"items":[{"n":"Дильшод"}]})");
  ASSERT_THAT(object.status(), IsOk());
  const auto& fields = object->fields();
  EXPECT_EQ(fields.at("sid").string_value(), "CA1");
  EXPECT_EQ(fields.at("count").number_value(), 3);
  EXPECT_TRUE(fields.at("hold").bool_value());
  EXPECT_EQ(
      fields.at("items").list_value().values(0).struct_value().fields().at("n").string_value(),
      "Дильшод");
}

TEST(ParseJsonObjectTest, AnythingButAnObjectIsInvalidAndQuoted) {
  for (const char* text : {"[1,2]", "42", "\"text\"", "{\"a\":", "not json", ""}) {
    EXPECT_THAT(ParseJsonObject(text).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON object")))
        << text;
  }
  EXPECT_THAT(ParseJsonObject("<html>oops</html>").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("<html>oops</html>")));
}

TEST(ParseJsonObjectTest, QuotesAtMost120BytesNeverHalfACharacter) {
  // 119 ASCII bytes, then a two-byte letter that would straddle the limit.
  const std::string text = std::string(119, 'x') + "ж and more";
  absl::Status status = ParseJsonObject(text).status();
  ASSERT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(status.message(), "not a JSON object: " + std::string(119, 'x'));
}

TEST(ToJsonTest, WritesAStructThatReadsBackTheSame) {
  google::protobuf::Struct object;
  auto& fields = *object.mutable_fields();
  fields["content"].set_string_value("say \"hi\"\\\n\t\x01 Salom, Дильшод");
  fields["stream"].set_bool_value(true);
  fields["temperature"].set_number_value(0.2);
  fields["messages"].mutable_list_value()->add_values()->set_string_value("one");
  absl::StatusOr<std::string> json = ToJson(object);
  ASSERT_THAT(json.status(), IsOk());
  EXPECT_THAT(*json, AllOf(HasSubstr(R"("content":"say \"hi\"\\\n\t\u0001 Salom, Дильшод")"),
                           HasSubstr(R"("stream":true)"), HasSubstr(R"("temperature":0.2)"),
                           HasSubstr(R"("messages":["one"])")));
  absl::StatusOr<google::protobuf::Struct> read = ParseJsonObject(*json);
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*read, object)) << *json;
}

TEST(ToJsonTest, KeepsProtoFieldNames) {
  livecall::v1::CustomerRecord record;
  record.set_phone("+998901112233");
  absl::StatusOr<std::string> json = ToJson(record);
  ASSERT_THAT(json.status(), IsOk());
  EXPECT_EQ(*json, R"({"phone":"+998901112233"})");
}

class JsonArrayFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("json-array-file-");
    ASSERT_THAT(dir.status(), IsOk());
    dir_ = *dir;
  }
  void TearDown() override {
    if (!dir_.empty() && testing::ShouldRemoveTempDirs()) std::filesystem::remove_all(dir_);
  }
  std::string Write(const std::string& content) {
    const std::string path = dir_ + "/scripts.json";
    std::ofstream(path) << content;
    return path;
  }

  std::string dir_;
};

TEST_F(JsonArrayFileTest, ReadsEveryEntry) {
  livecall::v1::SandboxScriptList list;
  ASSERT_THAT(ParseJsonArrayFile(Write(R"([{"language":"uz","lines":["Salom"]},
                                           {"language":"en","lines":["Hello","Bye"]}])"),
                                 "scripts", &list),
              IsOk());
  ASSERT_EQ(list.scripts_size(), 2);
  EXPECT_EQ(list.scripts(0).language(), "uz");
  EXPECT_EQ(list.scripts(1).lines(1), "Bye");
}

TEST_F(JsonArrayFileTest, AnUnknownFieldNamesTheFileAndTheEntryAndChangesNothing) {
  livecall::v1::SandboxScriptList list;
  list.add_scripts()->set_language("ru");
  const std::string path =
      Write(R"([{"language":"uz","lines":[]},{"language":"en","line":["typo"]}])");
  EXPECT_THAT(ParseJsonArrayFile(path, "scripts", &list),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("entry #2"), HasSubstr("line"))));
  ASSERT_EQ(list.scripts_size(), 1);
  EXPECT_EQ(list.scripts(0).language(), "ru");
}

TEST_F(JsonArrayFileTest, AnythingButAnArrayIsInvalid) {
  livecall::v1::SandboxScriptList list;
  for (const char* content : {R"({"language":"uz"})", "[1,", ""}) {
    EXPECT_THAT(ParseJsonArrayFile(Write(content), "scripts", &list),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON array")))
        << content;
  }
  EXPECT_EQ(list.scripts_size(), 0);
}

TEST_F(JsonArrayFileTest, AMissingFileIsNotFound) {
  livecall::v1::SandboxScriptList list;
  EXPECT_THAT(ParseJsonArrayFile(dir_ + "/absent.json", "scripts", &list),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace livecall
