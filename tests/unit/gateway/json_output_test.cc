#include "services/gateway/json_output.h"

#include <gtest/gtest.h>

namespace livecall::gateway {
namespace {

TEST(PrintJsonTest, KeysArePrintedSortedAtEveryLevel) {
  google::protobuf::Struct inner;
  for (const char* key : {"redis", "callControl", "context", "aiSession"}) {
    (*inner.mutable_fields())[key] = JsonString("ok");
  }
  google::protobuf::Struct object;
  (*object.mutable_fields())["status"] = JsonString("ready");
  *(*object.mutable_fields())["checks"].mutable_struct_value() = inner;
  EXPECT_EQ(PrintJson(object),
            R"({"checks":{"aiSession":"ok","callControl":"ok","context":"ok","redis":"ok"},)"
            R"("status":"ready"})");
}

TEST(PrintJsonTest, IntegralNumbersPrintWithoutAFraction) {
  google::protobuf::Struct object;
  (*object.mutable_fields())["exp"].set_number_value(1798761600);
  EXPECT_EQ(PrintJson(object), R"({"exp":1798761600})");
}

TEST(PrintJsonTest, StringsAreEscapedAsJson) {
  google::protobuf::Struct object;
  (*object.mutable_fields())["message"] = JsonString("bad \"x\"\\\n\x01 Привет");
  EXPECT_EQ(PrintJson(object), R"({"message":"bad \"x\"\\\n\u0001 Привет"})");
}

TEST(JsonStringTest, InvalidUtf8BecomesTheReplacementCharacter) {
  EXPECT_EQ(JsonString("a\xff"
                       "b")
                .string_value(),
            "a\xEF\xBF\xBD"
            "b");
}

// ASCII runs are copied whole: text around them, valid or not, is still checked byte by byte.
TEST(ToValidUtf8Test, KeepsAsciiRunsBetweenOtherBytes) {
  EXPECT_EQ(ToValidUtf8(""), "");
  EXPECT_EQ(ToValidUtf8("/ai/sessions/S1/turns"), "/ai/sessions/S1/turns");
  EXPECT_EQ(ToValidUtf8("a\xD0\x90"
                        "b\xFF"
                        "c\xE2\x82"),
            "a\xD0\x90"
            "b\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToValidUtf8(std::string("x\0y", 3)), std::string("x\0y", 3));
}

TEST(ToValidUtf8Test, RejectsOverlongSurrogatesAndTruncatedSequences) {
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // Overlong '/'.
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // Surrogate.
  EXPECT_EQ(ToValidUtf8("ok\xE2\x82"), "ok\xEF\xBF\xBD\xEF\xBF\xBD");              // Truncated.
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");                  // U+1F600.
}

}  // namespace
}  // namespace livecall::gateway
