// Differential tests of common/wire_json.h against protobuf's own converter, which it replaces on
// the gateway's hot path: every message type of the contract (all the REST routes' requests and
// replies among them) filled at random many times, every kind of field on a test-only type, every
// code point, Timestamps across their range, floats by bit pattern, and mutations of seed bodies
// and wire bytes. Whenever the one-pass converter answers, protobuf must answer the same bytes.

#include "common/wire_json.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/strutil.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/enum_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/auth.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "livecall/v1/data_files.pb.h"
#include "livecall/v1/http.pb.h"
#include "livecall/v1/speech_audio.pb.h"
#include "livecall/v1/twilio_webhooks.pb.h"

namespace livecall {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::util::TypeResolver;

// protobuf's converter as the gateway called it before (transcoder.cc): the suite's resolver,
// every primitive printed, lowerCamelCase; strict parsing.
struct Reference {
  TypeResolver* resolver = EnumJsonTypeResolver();
  std::string prefix = "type.googleapis.com/";

  std::optional<std::string> Json(const Descriptor* type, const std::string& wire,
                                  const WireJsonOptions& one_pass = WireJsonOptions()) const {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = one_pass.always_print_primitive_fields;
    options.preserve_proto_field_names = one_pass.preserve_proto_field_names;
    std::string json;
    if (!google::protobuf::util::BinaryToJsonString(resolver, prefix + type->full_name(), wire,
                                                    &json, options)
             .ok()) {
      return std::nullopt;
    }
    return json;
  }

  std::optional<std::string> Wire(const Descriptor* type, const std::string& json) const {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    std::string wire;
    if (!google::protobuf::util::JsonToBinaryString(resolver, prefix + type->full_name(), json,
                                                    &wire, options)
             .ok()) {
      return std::nullopt;
    }
    return wire;
  }

  // Any JSON protobuf prints for `wire`, with other options: inputs for the request direction.
  std::vector<std::string> Spellings(const Descriptor* type, const std::string& wire) const {
    std::vector<std::string> out;
    for (int variant = 0; variant < 4; ++variant) {
      google::protobuf::util::JsonPrintOptions options;
      options.always_print_primitive_fields = (variant & 1) != 0;
      options.preserve_proto_field_names = (variant & 2) != 0;
      options.add_whitespace = variant == 3;
      std::string json;
      if (google::protobuf::util::BinaryToJsonString(resolver, prefix + type->full_name(), wire,
                                                     &json, options)
              .ok()) {
        out.push_back(json);
      }
    }
    return out;
  }
};

// One message's bytes printed by both, with the gateway's options and the other three
// combinations PrintJson (common/enum_json.h) passes on; whether the one-pass printer answered
// with the gateway's.
bool ExpectSameJson(const Reference& reference, const Descriptor* type, const std::string& wire) {
  bool gateway_handled = false;
  for (int variant = 0; variant < 4; ++variant) {
    WireJsonOptions options;
    options.always_print_primitive_fields = (variant & 1) == 0;
    options.preserve_proto_field_names = (variant & 2) != 0;
    std::string mine;
    const bool handled = WireToJson(type, wire, options, &mine);
    if (variant == 0) gateway_handled = handled;
    if (!handled) continue;
    std::optional<std::string> theirs = reference.Json(type, wire, options);
    EXPECT_TRUE(theirs.has_value())
        << type->full_name() << ": protobuf refused what we printed " << mine;
    if (theirs.has_value()) {
      EXPECT_EQ(mine, *theirs) << type->full_name() << " variant " << variant;
    }
  }
  return gateway_handled;
}

bool ExpectSameWire(const Reference& reference, const Descriptor* type, const std::string& json) {
  std::string mine;
  const bool handled = JsonToWire(type, json, &mine);
  if (!handled) return false;
  std::optional<std::string> theirs = reference.Wire(type, json);
  EXPECT_TRUE(theirs.has_value()) << type->full_name() << ": protobuf refused " << json;
  if (theirs.has_value()) {
    EXPECT_EQ(absl::CEscape(mine), absl::CEscape(*theirs)) << type->full_name() << ": " << json;
  }
  return handled;
}

// Text that exercises escaping: quotes, controls, HTML characters, Cyrillic, Uzbek, C1 controls,
// separators protobuf escapes, astral characters, the empty string.
const std::vector<std::string>& Texts() {
  static const std::vector<std::string> texts = {
      "",
      "CA0123456789abcdef",
      "+998901112233",
      "Assalomu alaykum, Oʻzbekiston!",
      "Здравствуйте, Анна Петрова",
      "quote \" backslash \\ slash / tab \t newline \n return \r",
      std::string("nul \0 bell \x07 unit \x1f del \x7f", 26),
      "<script>alert('x')</script> & more",
      "C1 \xc2\x80 \xc2\x85 \xc2\x9f nbsp \xc2\xa0 soft\xc2\xadhyphen",
      "sep \xe2\x80\xa8 \xe2\x80\xa9 zw \xe2\x80\x8b bom \xef\xbb\xbf fff9 \xef\xbf\xb9",
      "emoji \xf0\x9f\x98\x80 tag \xf3\xa0\x80\x81 music \xf0\x9d\x85\xb3",
      "arabic \xd8\x80 \xdb\x9d syriac \xdc\x8f khmer \xe1\x9e\xb4",
      "日本語のテキスト",
  };
  return texts;
}

class Filler {
 public:
  explicit Filler(uint32_t seed, bool every_field, int max_depth = 4)
      : rng_(seed), every_field_(every_field), max_depth_(max_depth) {}

  void Fill(Message* message, int depth) {
    const Descriptor* type = message->GetDescriptor();
    const Reflection* reflection = message->GetReflection();
    if (type->full_name() == "google.protobuf.Timestamp") {
      FillTimestamp(message);
      return;
    }
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (!every_field_ && Pick(3) == 0) continue;
      if (field->real_containing_oneof() != nullptr && Pick(2) == 0) continue;
      if (field->is_map()) {
        const int entries = every_field_ ? 2 : Pick(4);
        for (int k = 0; k < entries; ++k) {
          Message* entry = reflection->AddMessage(message, field);
          const Reflection* entry_reflection = entry->GetReflection();
          const FieldDescriptor* key = field->message_type()->map_key();
          // Distinct keys: a map keeps one value per key.
          entry_reflection->SetString(entry, key, absl::StrCat(Text(), "#", k));
          SetOne(entry, field->message_type()->map_value(), depth);
        }
      } else if (field->is_repeated()) {
        const int elements = every_field_ ? 2 : Pick(4);
        for (int k = 0; k < elements; ++k) AddOne(message, field, depth);
      } else {
        SetOne(message, field, depth);
      }
    }
  }

  std::string Text() {
    const std::vector<std::string>& texts = Texts();
    return texts[Pick(static_cast<int>(texts.size()))];
  }

  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  int64_t Int() {
    static const int64_t kValues[] = {0,   1,         -1,        7,         127,      128,
                                      300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    if (Pick(3) == 0) return static_cast<int64_t>(rng_()) << Pick(40);
    return kValues[Pick(sizeof(kValues) / sizeof(kValues[0]))];
  }

  double Real() {
    static const double kValues[] = {0,    0.5,           0.1,  1.0 / 3, -3.25, 1e20,
                                     1e-7, 123456789.125, 0.93, 1e300,   -0.0};
    if (Pick(4) == 0) {
      uint64_t bits = (static_cast<uint64_t>(rng_()) << 32) | rng_();
      double value;
      std::memcpy(&value, &bits, 8);
      return value;
    }
    return kValues[Pick(sizeof(kValues) / sizeof(kValues[0]))];
  }

  void FillTimestamp(Message* message) {
    const Descriptor* type = message->GetDescriptor();
    const Reflection* reflection = message->GetReflection();
    static const int64_t kSeconds[] = {0, 1764147600, -1, 951782400, -62135596800, 253402300799};
    const int64_t seconds =
        Pick(2) == 0
            ? kSeconds[Pick(6)]
            : -62135596800 + static_cast<int64_t>(((static_cast<uint64_t>(rng_()) << 32) | rng_()) %
                                                  (253402300799LL + 62135596800LL));
    static const int32_t kNanos[] = {0, 1000000, 500000000, 123000, 1, 999999999, 120000000};
    const int32_t nanos =
        Pick(3) == 0 ? static_cast<int32_t>(rng_() % 1000000000) : kNanos[Pick(7)];
    reflection->SetInt64(message, type->FindFieldByName("seconds"), seconds);
    reflection->SetInt32(message, type->FindFieldByName("nanos"), nanos);
  }

 private:
  void SetOne(Message* message, const FieldDescriptor* field, int depth) {
    const Reflection* reflection = message->GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        if (field->type() == FieldDescriptor::TYPE_BYTES) {
          std::string bytes;
          for (int i = Pick(9); i > 0; --i) bytes.push_back(static_cast<char>(rng_()));
          reflection->SetString(message, field, bytes);
        } else {
          reflection->SetString(message, field, Text());
        }
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(message, field, Pick(2) == 0);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        reflection->SetInt32(message, field, static_cast<int32_t>(Int()));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(message, field, Int());
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        reflection->SetUInt32(message, field, static_cast<uint32_t>(Int()));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        reflection->SetUInt64(message, field, static_cast<uint64_t>(Int()));
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        reflection->SetFloat(message, field, static_cast<float>(Real()));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(message, field, Real());
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* type = field->enum_type();
        reflection->SetEnum(message, field, type->value(Pick(type->value_count())));
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < max_depth_) Fill(reflection->MutableMessage(message, field), depth + 1);
        break;
    }
  }

  void AddOne(Message* message, const FieldDescriptor* field, int depth) {
    const Reflection* reflection = message->GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        reflection->AddString(message, field, Text());
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->AddBool(message, field, Pick(2) == 0);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        reflection->AddInt32(message, field, static_cast<int32_t>(Int()));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        reflection->AddInt64(message, field, Int());
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        reflection->AddUInt32(message, field, static_cast<uint32_t>(Int()));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        reflection->AddUInt64(message, field, static_cast<uint64_t>(Int()));
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        reflection->AddFloat(message, field, static_cast<float>(Real()));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->AddDouble(message, field, Real());
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* type = field->enum_type();
        reflection->AddEnum(message, field, type->value(Pick(type->value_count())));
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message* element = reflection->AddMessage(message, field);
        if (depth < max_depth_) Fill(element, depth + 1);
        break;
      }
    }
  }

  std::mt19937 rng_;
  bool every_field_;
  int max_depth_;
};

// Every message type of the contract's files, nested ones included (map entries excepted).
std::vector<const Descriptor*> ContractTypes() {
  const google::protobuf::FileDescriptor* files[] = {
      v1::StartSessionRequest::descriptor()->file(),
      v1::DevLoginRequest::descriptor()->file(),
      v1::Call::descriptor()->file(),
      v1::Session::descriptor()->file(),
      v1::HttpBody::descriptor()->file(),
      v1::GetSpeechAudioRequest::descriptor()->file(),
      v1::TwimlResponse::descriptor()->file(),
      v1::CustomerRecordList::descriptor()->file()};
  std::vector<const Descriptor*> types;
  std::function<void(const Descriptor*)> add = [&](const Descriptor* type) {
    if (type->options().map_entry()) return;
    types.push_back(type);
    for (int i = 0; i < type->nested_type_count(); ++i) add(type->nested_type(i));
  };
  for (const auto* file : files) {
    for (int i = 0; i < file->message_type_count(); ++i) add(file->message_type(i));
  }
  return types;
}

// The request and reply types of every RPC with a REST route.
std::vector<const Descriptor*> RouteTypes() {
  std::vector<const Descriptor*> types;
  for (const Descriptor* type : ContractTypes()) {
    const auto* file = type->file();
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        const auto* method = file->service(s)->method(m);
        if (!method->options().HasExtension(v1::http)) continue;
        for (const Descriptor* io : {method->input_type(), method->output_type()}) {
          if (std::find(types.begin(), types.end(), io) == types.end()) types.push_back(io);
        }
      }
    }
  }
  return types;
}

TEST(WireJsonTest, EveryRouteTypeIsCoveredAndAnsweredInOnePass) {
  const std::vector<const Descriptor*> types = RouteTypes();
  EXPECT_GE(types.size(), 25u);
  const Reference reference;
  for (const Descriptor* type : types) {
    SCOPED_TRACE(type->full_name());
    // The empty message and one with every field set: the one-pass path answers both.
    std::unique_ptr<Message> message(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
    EXPECT_TRUE(ExpectSameJson(reference, type, message->SerializeAsString()));
    Filler(1, /*every_field=*/true).Fill(message.get(), 0);
    EXPECT_TRUE(ExpectSameJson(reference, type, message->SerializeAsString()))
        << "not answered in one pass";
  }
}

TEST(WireJsonTest, PrintsEveryContractTypeAsProtobufDoes) {
  const Reference reference;
  int handled = 0;
  int total = 0;
  for (const Descriptor* type : ContractTypes()) {
    SCOPED_TRACE(type->full_name());
    for (uint32_t seed = 0; seed < 150; ++seed) {
      std::unique_ptr<Message> message(
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
      Filler(seed, /*every_field=*/seed % 5 == 0).Fill(message.get(), 0);
      const std::string wire = message->SerializeAsString();
      handled += ExpectSameJson(reference, type, wire) ? 1 : 0;
      ++total;
    }
  }
  // The contract has no field of a kind left to protobuf: every message is answered in one pass.
  EXPECT_EQ(handled, total);
}

TEST(WireJsonTest, ParsesProtobufsOwnJsonOfEveryContractTypeToTheSameBytes) {
  const Reference reference;
  int handled = 0;
  for (const Descriptor* type : ContractTypes()) {
    SCOPED_TRACE(type->full_name());
    for (uint32_t seed = 0; seed < 60; ++seed) {
      std::unique_ptr<Message> message(
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
      Filler(seed, /*every_field=*/seed % 5 == 0).Fill(message.get(), 0);
      for (const std::string& json : reference.Spellings(type, message->SerializeAsString())) {
        handled += ExpectSameWire(reference, type, json) ? 1 : 0;
      }
    }
  }
  EXPECT_GT(handled, 1000);
}

// The request bodies the page sends, answered in one pass with protobuf's bytes.
TEST(WireJsonTest, RequestBodiesTakeTheOnePassPath) {
  const Reference reference;
  struct Body {
    const Descriptor* type;
    std::string json;
  };
  const std::vector<Body> bodies = {
      {v1::StartSessionRequest::descriptor(), R"({"phoneNumber":"+998901112233"})"},
      {v1::StartSessionRequest::descriptor(),
       " {\n \"phone_number\" : \"+998 90 111-22-33\", \"callSid\":\"CA1\",\"agentId\":\"agent-1\","
       "\"direction\":\"inbound\",\"language\":\"uz-Latn-UZ\"}\r\n"},
      {v1::StartSessionRequest::descriptor(), R"({"language":"\u0414\ud83d\ude00\"\\\/\n"})"},
      {v1::StartSessionRequest::descriptor(), R"({"phoneNumber":"","callSid":""})"},
      {v1::StartSessionRequest::descriptor(),
       R"({"language":"\u0000\u001f\uffff","agentId":"\t"})"},
      {v1::PlaceCallRequest::descriptor(), R"({"text":"Салом 😀","to":"+998901112233"})"},
      {v1::StartSessionRequest::descriptor(), "{}"},
      {v1::PlaceCallRequest::descriptor(), R"({"to":"901112233","text":"Salom","mode":"ai"})"},
      {v1::PlaceCallRequest::descriptor(), R"({"to":"901112233","mode":""})"},
      {v1::PlaceCallRequest::descriptor(), R"({"mode":"agent","language":"ru","from":"+1"})"},
      {v1::AddTurnRequest::descriptor(),
       R"({"sessionId":"S1","speaker":"customer","text":"Нужна помощь с заказом"})"},
      {v1::EndAiSessionRequest::descriptor(), R"({"disposition":"resolved"})"},
      {v1::SendDigitsRequest::descriptor(), R"({"digits":"12#w*"})"},
      {v1::CreateVoiceTokenRequest::descriptor(), R"({"ttlSeconds":3600})"},
      {v1::CreateVoiceTokenRequest::descriptor(), R"({"ttl_seconds":0})"},
      {v1::CreateVoiceTokenRequest::descriptor(), R"({"ttlSeconds":-2147483648})"},
      {v1::CreateVoiceTokenRequest::descriptor(), R"({"ttlSeconds":"60"})"},
      {v1::DevLoginRequest::descriptor(), R"({"agentId":"agent-1","role":"supervisor"})"},
      {v1::TwilioWebhookRequest::descriptor(),
       R"({"params":{"CallSid":"CA1","":"","Final":"true"},"query":{}})"},
      {v1::Customer::descriptor(),
       R"({"name":"A","notes":["x","y"],"attributes":{"tier":"gold"},"known":true,"stale":false})"},
      {v1::Customer::descriptor(), R"({"notes":[],"attributes":{}})"},
      {v1::Customer::descriptor(), R"({"attributes":{"\u00e9\"<":"\u2028"}})"},
      {v1::EndSessionRequest::descriptor(), R"({"summary":{},"call":{"history":[]}})"},
      {v1::EndSessionRequest::descriptor(),
       R"({"summary":{"text":"t","followUps":["a"]},"call":{"callSid":"CA1","status":"busy",)"
       R"("history":[{"status":"queued"},{}]}})"},
  };
  for (const Body& body : bodies) {
    EXPECT_TRUE(ExpectSameWire(reference, body.type, body.json)) << body.json;
  }
}

// What protobuf refuses is left to it, so the client reads protobuf's words (and what protobuf
// takes in ways of its own, too).
TEST(WireJsonTest, LeavesRefusalsAndRareSpellingsToProtobuf) {
  const Descriptor* start = v1::StartSessionRequest::descriptor();
  const Descriptor* place = v1::PlaceCallRequest::descriptor();
  const Descriptor* token = v1::CreateVoiceTokenRequest::descriptor();
  const std::vector<std::pair<const Descriptor*, std::string>> bodies = {
      {start, R"({"phoneNumbr":"1"})"},
      {start, R"({"phoneNumber":)"},
      {start, "[1,2]"},
      {start, "not json"},
      {start, R"({"phoneNumber":5})"},
      {start, R"({"phoneNumber":null})"},
      {start, R"({"phoneNumber":"a","phoneNumber":"b"})"},
      {v1::Customer::descriptor(), R"({"attributes":{"a":"1","a":"2"}})"},
      {start, "{}{}"},
      {start, std::string("{}\0", 3)},
      {start, "{\"phoneNumber\":\"\xff\"}"},
      {start, R"({"phoneNumber":"\ud800"})"},
      {start, R"({"phoneNumber":"\udf80"})"},
      {start, R"({"phone\udc00Number":"x"})"},
      {start, R"({phoneNumber:"x"})"},
      {place, R"({"mode":"robot"})"},
      {place, R"({"mode":"CALL_MODE_AI"})"},
      {place, R"({"mode":2})"},
      {token, R"({"ttlSeconds":1.5})"},
      {token, R"({"ttlSeconds":1e3})"},
      {token, R"({"ttlSeconds":2147483648})"},
  };
  for (const auto& [type, body] : bodies) {
    std::string wire;
    EXPECT_FALSE(JsonToWire(type, body, &wire)) << body;
  }
}

// Every code point protobuf can print, in strings of 1,024 code points.
TEST(WireJsonTest, EscapesEveryCodePointAsProtobufDoes) {
  const Reference reference;
  auto append_utf8 = [](uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  };
  for (uint32_t block = 0; block < 0x110000; block += 1024) {
    v1::Turn turn;
    std::string text;
    for (uint32_t cp = block; cp < block + 1024; ++cp) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      append_utf8(cp, &text);
    }
    turn.set_text(text);
    ASSERT_TRUE(ExpectSameJson(reference, v1::Turn::descriptor(), turn.SerializeAsString()))
        << "block " << block;
    // The same text as a request: protobuf's JSON of it parses to the same bytes.
    std::optional<std::string> json =
        reference.Json(v1::Turn::descriptor(), turn.SerializeAsString());
    ASSERT_TRUE(json.has_value());
    EXPECT_TRUE(ExpectSameWire(reference, v1::Turn::descriptor(), *json)) << "block " << block;
  }
  // Invalid UTF-8 is left to protobuf.
  v1::Turn bad;
  bad.set_text("ok \xc3\x28 \xed\xa0\x80 \xc0\xaf \xf8\x88\x80\x80\x80 \xe2\x82");
  std::string json;
  EXPECT_FALSE(WireToJson(v1::Turn::descriptor(), bad.SerializeAsString(), &json));
}

// Strings of plain ASCII runs of every length, escaped ASCII, two- to four-byte characters, the
// ones protobuf escapes (U+2028, U+2029, U+FEFF, C1 controls) and invalid UTF-8 at every offset:
// the same JSON as protobuf's, and invalid UTF-8 (anywhere, also after a long plain run) still
// left to protobuf.
TEST(WireJsonTest, EscapesMixedStringsAsProtobufDoes) {
  const Reference reference;
  const std::vector<std::string> valid = {"a",
                                          "Hello, world ",
                                          "0123456789abcdef",
                                          " ",
                                          "\"",
                                          "\\",
                                          "<",
                                          ">",
                                          "</script>",
                                          "\x7f",
                                          "\n",
                                          "\t",
                                          "\x01",
                                          "\x1f",
                                          "/",
                                          "~",
                                          "\xc3\xa9",
                                          "\xd0\x94",
                                          "\xe2\x80\xa8",
                                          "\xe2\x80\xa9",
                                          "\xef\xbb\xbf",
                                          "\xc2\x85",
                                          "\xc2\xa0",
                                          "\xc2\xad",
                                          "\xf0\x9f\x98\x80",
                                          "\xe2\x80\x8b"};
  const std::vector<std::string> invalid = {
      "\xff", "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80", "\xc3\x28"};
  std::mt19937 rng(41);
  int handled = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string text;
    const int pieces = static_cast<int>(rng() % 12);
    for (int k = 0; k < pieces; ++k) {
      // Plain runs often, so that the 8-byte steps meet every kind of byte at every offset.
      if (rng() % 3 == 0) {
        text.append(rng() % 20, static_cast<char>('a' + rng() % 26));
      } else {
        text += valid[rng() % valid.size()];
      }
    }
    const bool bad = n % 5 == 0;
    if (bad) text.insert(rng() % (text.size() + 1), invalid[rng() % invalid.size()]);
    v1::Turn turn;
    turn.set_text(text);
    const bool answered =
        ExpectSameJson(reference, v1::Turn::descriptor(), turn.SerializeAsString());
    if (bad) {
      ASSERT_FALSE(answered) << absl::CEscape(text);
    } else {
      ASSERT_TRUE(answered) << absl::CEscape(text);
      ++handled;
    }
  }
  EXPECT_EQ(handled, 16000);
}

TEST(WireJsonTest, PrintsTimestampsAcrossTheirRangeAsProtobufDoes) {
  const Reference reference;
  Filler filler(7, true);
  for (int i = 0; i < 3000; ++i) {
    v1::Turn turn;
    filler.FillTimestamp(turn.mutable_at());
    ASSERT_TRUE(ExpectSameJson(reference, v1::Turn::descriptor(), turn.SerializeAsString()))
        << turn.at().ShortDebugString();
  }
  // Out of range: left to protobuf (which refuses it).
  v1::Turn turn;
  turn.mutable_at()->set_seconds(253402300800);
  std::string json;
  EXPECT_FALSE(WireToJson(v1::Turn::descriptor(), turn.SerializeAsString(), &json));
}

TEST(WireJsonTest, PrintsFloatsByBitPatternAsProtobufDoes) {
  const Reference reference;
  std::mt19937 rng(11);
  for (int i = 0; i < 5000; ++i) {
    v1::Suggestion suggestion;
    uint32_t bits = rng();
    if (i % 3 == 0) bits &= 0x3f8fffff;  // Near 0..1, where confidences are.
    float value;
    std::memcpy(&value, &bits, 4);
    suggestion.set_confidence(value);
    ASSERT_TRUE(
        ExpectSameJson(reference, v1::Suggestion::descriptor(), suggestion.SerializeAsString()))
        << bits;
  }
}

// The converter's float printer against protobuf's SimpleFtoa, value by value: random bit
// patterns (subnormals among them), the neighbourhoods of the smallest normal and the largest
// floats, integers, powers of two and the decimals confidences are made of.
TEST(WireJsonTest, FloatPrinterWritesWhatSimpleFtoaWrites) {
  std::vector<float> values = {0.0f,
                               -0.0f,
                               0.1f,
                               0.2f,
                               0.3f,
                               1.0f / 3,
                               1e7f,
                               1e-5f,
                               123456.7f,
                               std::numeric_limits<float>::min(),
                               std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::lowest(),
                               std::numeric_limits<float>::denorm_min(),
                               std::numeric_limits<float>::epsilon()};
  for (float edge : {std::numeric_limits<float>::min(), std::numeric_limits<float>::max()}) {
    float below = edge;
    float above = edge;
    for (int k = 0; k < 2000; ++k) {
      below = std::nextafter(below, 0.0f);
      above = std::nextafter(above, std::numeric_limits<float>::infinity());
      values.insert(values.end(), {below, above, -below, -above});
    }
  }
  for (int i = -100000; i <= 100000; ++i) values.push_back(static_cast<float>(i));
  for (int exponent = -149; exponent <= 127; ++exponent) {
    values.push_back(std::ldexp(1.0f, exponent));
  }
  for (int digits = 0; digits <= 100000; ++digits) {
    values.insert(values.end(), {digits / 1e5f, digits / 1e4f, digits / 1e3f,
                                 static_cast<float>(digits * 0.00001)});
  }
  std::mt19937 rng(23);
  for (int i = 0; i < 300000; ++i) {
    uint32_t bits = rng();
    if (i % 4 == 0) bits &= 0x807fffff;  // Subnormals (and zero).
    float value;
    std::memcpy(&value, &bits, 4);
    if (std::isfinite(value)) values.push_back(value);
  }
  for (float value : values) {
    std::string printed;
    AppendJsonFloat(value, &printed);
    ASSERT_EQ(printed, google::protobuf::SimpleFtoa(value)) << std::hexfloat << value;
  }
}

TEST(WireJsonTest, DoublePrinterWritesWhatSimpleDtoaWrites) {
  std::vector<double> values = {0.0,
                                -0.0,
                                0.1,
                                0.3,
                                1.0 / 3,
                                1e15,
                                1e16,
                                1e-5,
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::lowest(),
                                std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::epsilon()};
  for (double edge : {std::numeric_limits<double>::min(), std::numeric_limits<double>::max()}) {
    double below = edge;
    double above = edge;
    for (int k = 0; k < 2000; ++k) {
      below = std::nextafter(below, 0.0);
      above = std::nextafter(above, std::numeric_limits<double>::infinity());
      values.insert(values.end(), {below, above, -below, -above});
    }
  }
  for (int i = -100000; i <= 100000; ++i) values.push_back(i);
  for (int exponent = -1074; exponent <= 1023; ++exponent)
    values.push_back(std::ldexp(1.0, exponent));
  for (int digits = 0; digits <= 100000; ++digits) {
    values.insert(values.end(), {digits / 1e5, digits / 1e3, digits * 0.001});
  }
  std::mt19937_64 rng(31);
  for (int i = 0; i < 300000; ++i) {
    uint64_t bits = rng();
    if (i % 4 == 0) bits &= 0x800fffffffffffffu;  // Subnormals (and zero).
    double value;
    std::memcpy(&value, &bits, 8);
    if (std::isfinite(value)) values.push_back(value);
  }
  for (double value : values) {
    std::string printed;
    AppendJsonDouble(value, &printed);
    ASSERT_EQ(printed, google::protobuf::SimpleDtoa(value)) << std::hexfloat << value;
  }
}

// A test-only type with every kind of field the converters plan for: 64-bit, zigzag and fixed
// integers, doubles, bytes, packed and unpacked repeated scalars, maps of scalars, enums and
// messages, a oneof of a scalar, a message and a Timestamp, and a recursive message.
class EveryKindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    google::protobuf::FileDescriptorProto timestamp;
    google::protobuf::Timestamp::descriptor()->file()->CopyTo(&timestamp);
    ASSERT_NE(pool_.BuildFile(timestamp), nullptr);
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(
          name: "every_kind.proto"
          package: "test"
          syntax: "proto3"
          dependency: "google/protobuf/timestamp.proto"
          enum_type {
            name: "Color"
            value { name: "COLOR_NONE" number: 0 }
            value { name: "COLOR_RED" number: 1 }
            value { name: "COLOR_BLUE" number: -3 }
          }
          message_type {
            name: "Every"
            field { name: "i32" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
            field { name: "i64" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
            field { name: "u32" number: 3 label: LABEL_OPTIONAL type: TYPE_UINT32 }
            field { name: "u64" number: 4 label: LABEL_OPTIONAL type: TYPE_UINT64 }
            field { name: "s32" number: 5 label: LABEL_OPTIONAL type: TYPE_SINT32 }
            field { name: "s64" number: 6 label: LABEL_OPTIONAL type: TYPE_SINT64 }
            field { name: "f32" number: 7 label: LABEL_OPTIONAL type: TYPE_FIXED32 }
            field { name: "f64" number: 8 label: LABEL_OPTIONAL type: TYPE_FIXED64 }
            field { name: "sf32" number: 9 label: LABEL_OPTIONAL type: TYPE_SFIXED32 }
            field { name: "sf64" number: 10 label: LABEL_OPTIONAL type: TYPE_SFIXED64 }
            field { name: "real" number: 11 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
            field { name: "single" number: 12 label: LABEL_OPTIONAL type: TYPE_FLOAT }
            field { name: "flag" number: 13 label: LABEL_OPTIONAL type: TYPE_BOOL }
            field { name: "blob" number: 14 label: LABEL_OPTIONAL type: TYPE_BYTES }
            field {
              name: "color"
              number: 15
              label: LABEL_OPTIONAL
              type: TYPE_ENUM
              type_name: ".test.Color"
            }
            field { name: "packed_ints" number: 16 label: LABEL_REPEATED type: TYPE_SINT64 }
            field {
              name: "unpacked_ints"
              number: 17
              label: LABEL_REPEATED
              type: TYPE_INT32
              options { packed: false }
            }
            field { name: "reals" number: 18 label: LABEL_REPEATED type: TYPE_DOUBLE }
            field {
              name: "colors"
              number: 19
              label: LABEL_REPEATED
              type: TYPE_ENUM
              type_name: ".test.Color"
            }
            field { name: "blobs" number: 20 label: LABEL_REPEATED type: TYPE_BYTES }
            field {
              name: "child"
              number: 21
              label: LABEL_OPTIONAL
              type: TYPE_MESSAGE
              type_name: ".test.Every"
            }
            field {
              name: "children"
              number: 22
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".test.Every"
            }
            field {
              name: "when"
              number: 23
              label: LABEL_OPTIONAL
              type: TYPE_MESSAGE
              type_name: ".google.protobuf.Timestamp"
            }
            field {
              name: "whens"
              number: 24
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".google.protobuf.Timestamp"
            }
            field {
              name: "counts"
              number: 25
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".test.Every.CountsEntry"
            }
            field {
              name: "kids"
              number: 26
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".test.Every.KidsEntry"
            }
            field {
              name: "hues"
              number: 27
              label: LABEL_REPEATED
              type: TYPE_MESSAGE
              type_name: ".test.Every.HuesEntry"
            }
            field {
              name: "one_text"
              number: 30
              label: LABEL_OPTIONAL
              type: TYPE_STRING
              oneof_index: 0
            }
            field {
              name: "one_child"
              number: 31
              label: LABEL_OPTIONAL
              type: TYPE_MESSAGE
              type_name: ".test.Every"
              oneof_index: 0
            }
            field {
              name: "one_when"
              number: 32
              label: LABEL_OPTIONAL
              type: TYPE_MESSAGE
              type_name: ".google.protobuf.Timestamp"
              oneof_index: 0
            }
            field {
              name: "one_number"
              number: 33
              label: LABEL_OPTIONAL
              type: TYPE_INT64
              oneof_index: 0
            }
            field { name: "late_text" number: 29 label: LABEL_OPTIONAL type: TYPE_STRING }
            oneof_decl { name: "choice" }
            nested_type {
              name: "CountsEntry"
              options { map_entry: true }
              field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
              field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
            }
            nested_type {
              name: "KidsEntry"
              options { map_entry: true }
              field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
              field {
                name: "value"
                number: 2
                label: LABEL_OPTIONAL
                type: TYPE_MESSAGE
                type_name: ".test.Every"
              }
            }
            nested_type {
              name: "HuesEntry"
              options { map_entry: true }
              field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
              field {
                name: "value"
                number: 2
                label: LABEL_OPTIONAL
                type: TYPE_ENUM
                type_name: ".test.Color"
              }
            }
          })pb",
        &file));
    ASSERT_NE(pool_.BuildFile(file), nullptr);
    type_ = pool_.FindMessageTypeByName("test.Every");
    ASSERT_NE(type_, nullptr);
    resolver_.reset(
        google::protobuf::util::NewTypeResolverForDescriptorPool("type.googleapis.com", &pool_));
    reference_.resolver = resolver_.get();
  }

  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_{&pool_};
  const Descriptor* type_ = nullptr;
  std::unique_ptr<TypeResolver> resolver_;
  Reference reference_;
};

// Clears, at every level, the fields JsonToWire leaves to protobuf (floats, bytes, Timestamps,
// maps of messages), so the request direction meets every kind it does take.
void ClearWhatTheParserLeavesToProtobuf(Message* message) {
  const Reflection* reflection = message->GetReflection();
  for (const char* name :
       {"real", "single", "blob", "reals", "blobs", "when", "whens", "one_when", "kids"}) {
    reflection->ClearField(message, message->GetDescriptor()->FindFieldByName(name));
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_map()) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        ClearWhatTheParserLeavesToProtobuf(reflection->MutableRepeatedMessage(message, field, i));
      }
    } else {
      ClearWhatTheParserLeavesToProtobuf(reflection->MutableMessage(message, field));
    }
  }
}

TEST_F(EveryKindTest, BothDirectionsMatchProtobufOnEveryKindOfField) {
  int printed = 0;
  int parsed = 0;
  for (uint32_t seed = 0; seed < 300; ++seed) {
    std::unique_ptr<Message> message(factory_.GetPrototype(type_)->New());
    Filler(seed, /*every_field=*/seed % 4 == 0, /*max_depth=*/2).Fill(message.get(), 0);
    printed += ExpectSameJson(reference_, type_, message->SerializeAsString()) ? 1 : 0;
    ClearWhatTheParserLeavesToProtobuf(message.get());
    for (const std::string& json : reference_.Spellings(type_, message->SerializeAsString())) {
      parsed += ExpectSameWire(reference_, type_, json) ? 1 : 0;
    }
  }
  EXPECT_GT(printed, 250);
  EXPECT_GT(parsed, 300);
}

// Mutated wire bytes: whatever the one-pass printer answers, protobuf answers the same.
TEST(WireJsonTest, MutatedWireBytesNeverDiffer) {
  const Reference reference;
  std::mt19937 rng(3);
  for (const Descriptor* type : RouteTypes()) {
    std::unique_ptr<Message> message(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
    Filler(5, true).Fill(message.get(), 0);
    const std::string wire = message->SerializeAsString();
    if (wire.empty()) continue;
    for (int i = 0; i < 300; ++i) {
      std::string mutated = wire;
      const size_t at = rng() % mutated.size();
      switch (rng() % 4) {
        case 0:
          mutated[at] = static_cast<char>(rng());
          break;
        case 1:
          mutated.erase(at, 1 + rng() % 4);
          break;
        case 2:
          mutated.insert(at, 1, static_cast<char>(rng()));
          break;
        default:
          mutated.resize(at);
          break;
      }
      std::string mine;
      if (!WireToJson(type, mutated, &mine)) continue;
      std::optional<std::string> theirs = reference.Json(type, mutated);
      ASSERT_TRUE(theirs.has_value()) << absl::CEscape(mutated);
      EXPECT_EQ(mine, *theirs) << type->full_name() << " " << absl::CEscape(mutated);
    }
  }
}

std::vector<std::string> SeedBodies() {
  std::vector<std::string> bodies;
  for (const auto& entry : std::filesystem::directory_iterator(LIVECALL_TRANSCODER_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    // The fuzzer's input: a route byte, the query up to a newline, then the body.
    if (text.size() < 2) continue;
    text.erase(0, 1);
    if (const size_t newline = text.find('\n'); newline != std::string::npos) {
      text.erase(0, newline + 1);
    }
    bodies.push_back(text);
  }
  return bodies;
}

// The transcoder fuzzer's seed bodies and mutations of them, on every route's request type:
// whatever JsonToWire answers, protobuf answers the same bytes.
TEST(WireJsonTest, MutatedSeedBodiesNeverDiffer) {
  const Reference reference;
  std::vector<std::string> seeds = SeedBodies();
  ASSERT_FALSE(seeds.empty());
  std::mt19937 rng(17);
  static const char kBytes[] = "{}[]\":,\\ 0123456789-+.eEtrufalsn\x01\xc3\xa9u\"a";
  int handled = 0;
  for (const Descriptor* type : RouteTypes()) {
    for (const std::string& seed : seeds) {
      for (int i = 0; i < 40; ++i) {
        std::string body = seed;
        const int edits = i == 0 ? 0 : 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits && !body.empty(); ++e) {
          const size_t at = rng() % body.size();
          const char byte = kBytes[rng() % (sizeof(kBytes) - 1)];
          switch (rng() % 3) {
            case 0:
              body[at] = byte;
              break;
            case 1:
              body.erase(at, 1);
              break;
            default:
              body.insert(at, 1, byte);
              break;
          }
        }
        handled += ExpectSameWire(reference, type, body) ? 1 : 0;
      }
    }
  }
  EXPECT_GT(handled, 0);
}

}  // namespace
}  // namespace livecall
