#include "services/gateway/transcoder.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/enum_json.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;

class TranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouteTable> built = RouteTable::BuildServed();
    ASSERT_TRUE(built.ok()) << built.status();
    table_ = *std::move(built);
  }

  // The route of `method path` as the table matches it.
  RouteMatch Matched(absl::string_view method, absl::string_view path) {
    RouteMatch match = table_.Match(method, path);
    EXPECT_EQ(match.result, RouteMatch::Result::kMatched);
    return match;
  }

  // A no-body route over StartSessionRequest (none is declared in the protos, so it is built by
  // hand) to exercise query parameters on a message with several fields.
  RouteMatch QueryRoute() {
    query_route_.http_method = "GET";
    query_route_.method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
        "livecall.v1.AiSession.StartSession");
    query_route_.body_is_request = false;
    RouteMatch match;
    match.result = RouteMatch::Result::kMatched;
    match.route = &query_route_;
    return match;
  }

  RouteTable table_;
  Route query_route_;
};

TEST_F(TranscoderTest, AcceptsLowerCamelCaseFieldNames) {
  auto request = BuildRequestMessage(Matched("POST", "/ai/call/start"),
                                     R"({"phoneNumber":"+998901112233","callSid":"CA1"})", "");
  ASSERT_TRUE(request.ok()) << request.status();
  const auto& typed = dynamic_cast<const livecall::v1::StartSessionRequest&>(**request);
  EXPECT_EQ(typed.phone_number(), "+998901112233");
  EXPECT_EQ(typed.call_sid(), "CA1");
}

TEST_F(TranscoderTest, AcceptsProtoFieldNames) {
  auto request = BuildRequestMessage(Matched("POST", "/api/voip/call"),
                                     R"({"to":"901112233","text":"Salom","language":"uz"})", "");
  ASSERT_TRUE(request.ok()) << request.status();
  const auto& typed = dynamic_cast<const livecall::v1::PlaceCallRequest&>(**request);
  EXPECT_EQ(typed.to(), "901112233");
  EXPECT_EQ(typed.text(), "Salom");
  auto snake = BuildRequestMessage(Matched("POST", "/ai/call/start"),
                                   R"({"phone_number":"+998901112233","agent_id":"a7"})", "");
  ASSERT_TRUE(snake.ok()) << snake.status();
  EXPECT_EQ(dynamic_cast<const livecall::v1::StartSessionRequest&>(**snake).agent_id(), "a7");
}

TEST_F(TranscoderTest, UnknownJsonFieldIsInvalidArgument) {
  auto request =
      BuildRequestMessage(Matched("POST", "/ai/call/start"), R"({"phoneNumbr":"1"})", "");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(request.status().message()), HasSubstr("phoneNumbr"));
}

TEST_F(TranscoderTest, MalformedJsonIsInvalidArgument) {
  for (absl::string_view body :
       {R"({"phoneNumber":)", "[1,2]", "not json", R"({"to":5)", R"({"phoneNumber":12})"}) {
    auto request = BuildRequestMessage(Matched("POST", "/ai/call/start"), body, "");
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << body;
  }
}

TEST_F(TranscoderTest, DeepNestingAndLongStringsAreRefusedBeforeParsing) {
  const std::string deep = std::string(17, '[') + std::string(17, ']');
  auto nested = BuildRequestMessage(Matched("POST", "/ai/call/start"),
                                    absl::StrCat(R"({"phoneNumber":)", deep, "}"), "");
  EXPECT_EQ(nested.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nested.status().message()), HasSubstr("nested deeper than 16"));

  const std::string long_text(kMaxJsonStringLength + 1, 'a');
  auto long_string =
      BuildRequestMessage(Matched("POST", "/api/voip/call"),
                          absl::StrCat(R"({"to":"901112233","text":")", long_text, "\"}"), "");
  EXPECT_EQ(long_string.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(long_string.status().message()), HasSubstr("longer than 8192"));

  // Characters, not bytes: 4,096 Cyrillic letters (8,192 bytes) or escapes fit.
  std::string cyrillic;
  for (int i = 0; i < 4096; ++i) cyrillic += "Д";
  EXPECT_TRUE(CheckJsonLimits(absl::StrCat(R"({"text":")", cyrillic, "\"}")).ok());
  std::string escaped;
  for (int i = 0; i < 4000; ++i) escaped += "\\u0414";
  EXPECT_TRUE(CheckJsonLimits(absl::StrCat(R"({"text":")", escaped, "\"}")).ok());
  // Brackets and quotes inside strings are text.
  EXPECT_TRUE(CheckJsonLimits(absl::StrCat(R"({"text":")", std::string(40, '['), R"(\"x"})")).ok());
}

TEST_F(TranscoderTest, EmptyBodyIsTheEmptyObject) {
  auto request = BuildRequestMessage(Matched("POST", "/ai/call/start"), "", "");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ((*request)->ByteSizeLong(), 0u);
  EXPECT_TRUE(BuildRequestMessage(Matched("POST", "/ai/call/start"), " \r\n", "").ok());
}

TEST_F(TranscoderTest, PathVariableFillsTheRequest) {
  auto request = BuildRequestMessage(Matched("GET", "/api/calls/CA%20x"), "", "");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(dynamic_cast<const livecall::v1::GetCallRequest&>(**request).call_sid(), "CA x");
}

TEST_F(TranscoderTest, PathVariableOverridesTheBody) {
  RouteMatch match = Matched("POST", "/ai/call/start");
  match.bindings.emplace_back(
      livecall::v1::StartSessionRequest::descriptor()->FindFieldByName("call_sid"), "CA-path");
  auto request = BuildRequestMessage(match, R"({"callSid":"CA-body"})", "");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(dynamic_cast<const livecall::v1::StartSessionRequest&>(**request).call_sid(),
            "CA-path");
}

TEST_F(TranscoderTest, BodyOnARouteWithoutBodyIsRejected) {
  auto request = BuildRequestMessage(Matched("GET", "/api/calls/CA1"), R"({"callSid":"x"})", "");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
}

// Web code sends `{}` with Content-Type: application/json for "no fields"; a route without a body
// takes it as it takes no body at all, and still refuses a body that carries something.
TEST_F(TranscoderTest, AnEmptyJsonObjectIsNoBodyOnEveryRouteWithoutFields) {
  for (const char* path : {"/api/calls/CA1/hold", "/api/calls/CA1/resume", "/api/calls/CA1/mute",
                           "/api/calls/CA1/unmute", "/api/calls/CA1/hangup"}) {
    SCOPED_TRACE(path);
    for (const char* body : {"", "{}", " { }\r\n", "{\n}"}) {
      auto request = BuildRequestMessage(Matched("POST", path), body, "");
      ASSERT_TRUE(request.ok()) << body << ": " << request.status();
      EXPECT_EQ(dynamic_cast<const livecall::v1::CallActionRequest&>(**request).call_sid(), "CA1");
    }
    for (const char* body : {R"({"callSid":"CA2"})", "[]", "{}{}", "null", "{ x }"}) {
      EXPECT_EQ(BuildRequestMessage(Matched("POST", path), body, "").status().code(),
                absl::StatusCode::kInvalidArgument)
          << body;
    }
  }
}

// Twilio's JSON webhooks: every member becomes a param; strings decoded, other values as sent.
TEST(JsonObjectToParamsTest, KeepsEachMembersTextAsSent) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> params = JsonObjectToParams(
      " {\"Call\\u0053id\" : \"CA1\", \"Final\":true,\"SequenceId\": 3 ,"
      "\"TranscriptionData\":{\"transcript\":\"Sa\\\"lom}\",\"confidence\":0.93},"
      "\"Words\":[1, {\"a\":[]}],\"Empty\":\"\",\"Nothing\":null} ");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_THAT(*params, ::testing::ElementsAre(
                           ::testing::Pair("CallSid", "CA1"), ::testing::Pair("Final", "true"),
                           ::testing::Pair("SequenceId", "3"),
                           ::testing::Pair("TranscriptionData",
                                           R"({"transcript":"Sa\"lom}","confidence":0.93})"),
                           ::testing::Pair("Words", R"([1, {"a":[]}])"),
                           ::testing::Pair("Empty", ""), ::testing::Pair("Nothing", "null")));
  EXPECT_TRUE(JsonObjectToParams("{}")->empty());
  for (const char* bad : {"", "[]", "\"x\"", "{\"a\":}", "{\"a\":1", "{} {}"}) {
    EXPECT_EQ(JsonObjectToParams(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(TranscoderTest, QueryParametersOnABodyRouteAreRejected) {
  auto request = BuildRequestMessage(Matched("POST", "/ai/call/start"), "{}", "language=uz");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TranscoderTest, QueryParametersFillPrimitiveFieldsByEitherName) {
  auto request =
      BuildRequestMessage(QueryRoute(), "", "phoneNumber=%2B998901112233&call_sid=CA1&language=ru");
  ASSERT_TRUE(request.ok()) << request.status();
  const auto& typed = dynamic_cast<const livecall::v1::StartSessionRequest&>(**request);
  EXPECT_EQ(typed.phone_number(), "+998901112233");
  EXPECT_EQ(typed.call_sid(), "CA1");
  EXPECT_EQ(typed.language(), "ru");
}

TEST_F(TranscoderTest, UnknownQueryParameterIsInvalidArgument) {
  auto request = BuildRequestMessage(QueryRoute(), "", "language=ru&debug=1");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(request.status().message()), HasSubstr("\"debug\""));
}

TEST_F(TranscoderTest, RepeatedSingularQueryParameterIsInvalidArgument) {
  auto request = BuildRequestMessage(QueryRoute(), "", "language=ru&language=uz");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TranscoderTest, QueryParameterBoundByThePathIsInvalidArgument) {
  auto request = BuildRequestMessage(Matched("GET", "/api/calls/CA1"), "", "callSid=CA2");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TranscoderTest, QueryParameterWithBadEncodingIsInvalidArgument) {
  auto request = BuildRequestMessage(QueryRoute(), "", "language=%Z1");
  EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TranscoderTest, EnumsInABodyAreTheirJsonSpellings) {
  auto request = BuildRequestMessage(Matched("POST", "/api/voip/call"),
                                     R"({"to":"901112233","mode":"ai"})", "");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(dynamic_cast<const livecall::v1::PlaceCallRequest&>(**request).mode(),
            livecall::v1::CALL_MODE_AI);
}

TEST_F(TranscoderTest, AnUnknownEnumSpellingIsA400NamingTheAcceptedOnes) {
  for (const char* body :
       {R"({"to":"901112233","mode":"robot"})", R"({"to":"901112233","mode":"CALL_MODE_AI"})"}) {
    auto request = BuildRequestMessage(Matched("POST", "/api/voip/call"), body, "");
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(std::string(request.status().message()),
                HasSubstr(R"(expected "tts", "ai" or "agent")"))
        << body;
    EXPECT_THAT(std::string(request.status().message()), HasSubstr("mode")) << body;
  }
}

TEST_F(TranscoderTest, EnumsInAQueryAreTheirJsonSpellings) {
  // PlaceCall's input as query parameters, on a hand-built no-body route.
  Route route;
  route.http_method = "GET";
  route.method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
      "livecall.v1.CallControl.PlaceCall");
  route.body_is_request = false;
  RouteMatch match;
  match.result = RouteMatch::Result::kMatched;
  match.route = &route;
  auto request = BuildRequestMessage(match, "", "to=901112233&mode=agent");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(dynamic_cast<const livecall::v1::PlaceCallRequest&>(**request).mode(),
            livecall::v1::CALL_MODE_AGENT);
  auto unknown = BuildRequestMessage(match, "", "mode=CALL_MODE_AGENT");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr(R"("CALL_MODE_AGENT" is not one of "tts", "ai" or "agent")"));
}

TEST(MessageToJsonTest, EnumsPrintAsTheStringsThePageKnows) {
  livecall::v1::Call call;
  call.set_status(livecall::v1::CALL_STATUS_IN_PROGRESS);
  call.set_mode(livecall::v1::CALL_MODE_AGENT);
  call.add_history()->set_status(livecall::v1::CALL_STATUS_QUEUED);
  absl::StatusOr<std::string> json = MessageToJson(call);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr(R"("status":"in-progress")"));
  EXPECT_THAT(*json, HasSubstr(R"("mode":"agent")"));
  EXPECT_THAT(*json, HasSubstr(R"("history":[{"status":"queued"}])"));
  livecall::v1::Session session;
  session.add_suggestions()->set_kind(livecall::v1::SUGGESTION_KIND_NEXT_STEP);
  EXPECT_THAT(MessageToJson(session).value_or(""), HasSubstr(R"("kind":"next-step")"));
  // Unset, as an empty string field printed.
  EXPECT_THAT(MessageToJson(livecall::v1::Call()).value_or(""), HasSubstr(R"("mode":"")"));
}

TEST_F(TranscoderTest, PayloadIsTheWireFormOfTheRequestMessage) {
  RouteMatch match = Matched("POST", "/ai/call/start");
  const absl::string_view body = R"({"phoneNumber":"+998901112233","callSid":"CA1"})";
  absl::StatusOr<std::string> payload = BuildRequestPayload(match, body, "");
  ASSERT_TRUE(payload.ok()) << payload.status();
  livecall::v1::StartSessionRequest sent;
  ASSERT_TRUE(sent.ParseFromString(*payload));
  EXPECT_EQ(sent.phone_number(), "+998901112233");
  EXPECT_EQ(sent.call_sid(), "CA1");
}

TEST_F(TranscoderTest, PayloadRefusesWhatTheMessageRefusesWithTheSameWords) {
  RouteMatch match = Matched("POST", "/ai/call/start");
  for (absl::string_view body :
       {R"({"phoneNumbr":"1"})", R"({"phoneNumber":)", R"([1,2])", R"({"phoneNumber":5})"}) {
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
        BuildRequestMessage(match, body, "");
    absl::StatusOr<std::string> payload = BuildRequestPayload(match, body, "");
    ASSERT_FALSE(message.ok()) << body;
    EXPECT_EQ(payload.status(), message.status()) << body;
  }
  EXPECT_EQ(BuildRequestPayload(match, "{}", "language=uz").status(),
            BuildRequestMessage(match, "{}", "language=uz").status());
  EXPECT_EQ(BuildRequestPayload(match, std::string(kMaxJsonDepth + 1, '['), "").status(),
            BuildRequestMessage(match, std::string(kMaxJsonDepth + 1, '['), "").status());
}

TEST_F(TranscoderTest, PayloadOfAnEmptyBodyIsTheEmptyMessage) {
  absl::StatusOr<std::string> payload =
      BuildRequestPayload(Matched("POST", "/ai/call/start"), " ", "");
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(*payload, "");
}

TEST_F(TranscoderTest, PayloadPathVariableOverridesTheBody) {
  RouteMatch match = Matched("POST", "/ai/sessions/S-path/turns");
  absl::StatusOr<std::string> payload = BuildRequestPayload(
      match, R"({"sessionId":"S-body","speaker":"customer","text":"Salom"})", "");
  ASSERT_TRUE(payload.ok()) << payload.status();
  livecall::v1::AddTurnRequest sent;
  ASSERT_TRUE(sent.ParseFromString(*payload));
  EXPECT_EQ(sent.session_id(), "S-path");
  EXPECT_EQ(sent.text(), "Salom");
}

// The path variables are appended as wire bytes written by hand: byte for byte what a message
// holding only them serializes to, for every body route with variables (long and non-ASCII values
// too, whose lengths take more than one varint byte).
TEST_F(TranscoderTest, PayloadPathVariablesAreTheBytesOfTheMessageHoldingThem) {
  int checked = 0;
  for (const Route& route : table_.routes()) {
    if (!route.body_is_request || route.method == nullptr) continue;
    for (const std::string& value : {std::string("S1"), std::string(200, 'x'),
                                     std::string("\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0")}) {
      RouteMatch match;
      match.result = RouteMatch::Result::kMatched;
      match.route = &route;
      std::unique_ptr<google::protobuf::Message> expected = NewMessage(route.method->input_type());
      for (const PathTemplate::Segment& segment : route.path.segments()) {
        if (!segment.is_variable) continue;
        const std::string bound = absl::StrCat(value, segment.field->number());
        match.bindings.emplace_back(segment.field, bound);
        expected->GetReflection()->SetString(expected.get(), segment.field, bound);
      }
      if (match.bindings.empty()) continue;
      absl::StatusOr<std::string> payload = BuildRequestPayload(match, "{}", "");
      ASSERT_TRUE(payload.ok()) << route.path.pattern() << ": " << payload.status();
      EXPECT_EQ(*payload, expected->SerializeAsString()) << route.path.pattern();
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

TEST_F(TranscoderTest, PayloadOfARouteWithoutBodyComesFromPathAndQuery) {
  absl::StatusOr<std::string> payload =
      BuildRequestPayload(QueryRoute(), "", "phoneNumber=%2B998901112233&call_sid=CA9");
  ASSERT_TRUE(payload.ok()) << payload.status();
  livecall::v1::StartSessionRequest sent;
  ASSERT_TRUE(sent.ParseFromString(*payload));
  EXPECT_EQ(sent.phone_number(), "+998901112233");
  EXPECT_EQ(sent.call_sid(), "CA9");
}

TEST(PayloadToJsonTest, PrintsTheReplyBytesAsMessageToJsonPrintsTheMessage) {
  livecall::v1::Session session;
  session.set_session_id("S1");
  session.mutable_created_at()->set_seconds(1764147600);
  session.add_suggestions()->set_confidence(0.5f);
  (*session.mutable_customer()->mutable_attributes())["tier"] = "gold";
  absl::StatusOr<std::string> from_bytes =
      PayloadToJson(livecall::v1::Session::descriptor(), session.SerializeAsString());
  absl::StatusOr<std::string> from_message = MessageToJson(session);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status();
  ASSERT_TRUE(from_message.ok()) << from_message.status();
  EXPECT_EQ(*from_bytes, *from_message);
  EXPECT_THAT(*from_bytes, HasSubstr(R"("callSid":"")"));
}

// What the one-pass printer (common/wire_json.h) leaves to protobuf still prints as protobuf
// prints it: here an enum number the contract does not know (a newer backend's).
TEST(PayloadToJsonTest, WhatTheOnePassPrinterLeavesPrintsAsProtobufPrintsIt) {
  livecall::v1::Call call;
  call.set_call_sid("CA1");
  call.set_status(static_cast<livecall::v1::CallStatus>(99));
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string expected;
  ASSERT_TRUE(google::protobuf::util::BinaryToJsonString(
                  EnumJsonTypeResolver(), TypeUrlOf(livecall::v1::Call::descriptor()),
                  call.SerializeAsString(), &expected, options)
                  .ok());
  absl::StatusOr<std::string> json =
      PayloadToJson(livecall::v1::Call::descriptor(), call.SerializeAsString());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, expected);
  EXPECT_THAT(*json, HasSubstr(R"("callSid":"CA1")"));
}

// A body the one-pass parser leaves to protobuf (a number in exponent form) is protobuf's to take
// or refuse, with the same bytes or words as before.
TEST_F(TranscoderTest, BodiesTheOnePassParserLeavesAreProtobufs) {
  RouteMatch match = Matched("POST", "/api/voice/token");
  for (absl::string_view body : {R"({"ttlSeconds":6e2})", R"({"ttlSeconds":600.0})",
                                 R"({'ttlSeconds':600})", R"({"ttlSeconds":1.5})"}) {
    std::string expected;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const bool accepted =
        google::protobuf::util::JsonToBinaryString(
            EnumJsonTypeResolver(), TypeUrlOf(livecall::v1::CreateVoiceTokenRequest::descriptor()),
            google::protobuf::StringPiece(body.data(), body.size()), &expected, options)
            .ok();
    absl::StatusOr<std::string> payload = BuildRequestPayload(match, body, "");
    EXPECT_EQ(payload.ok(), accepted) << body;
    if (accepted && payload.ok()) EXPECT_EQ(*payload, expected) << body;
    if (!payload.ok()) {
      EXPECT_EQ(payload.status().code(), absl::StatusCode::kInvalidArgument) << body;
      EXPECT_THAT(std::string(payload.status().message()), HasSubstr("invalid JSON body: "));
    }
  }
}

TEST(PayloadToJsonTest, BytesThatAreNotTheMessageAreInternal) {
  // Field 1 (session_id, a string) announced with 100 bytes and followed by three.
  absl::StatusOr<std::string> json =
      PayloadToJson(livecall::v1::Session::descriptor(), std::string("\x0a\x64"
                                                                     "abc",
                                                                     5));
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInternal);
}

TEST(MessageToJsonTest, PrintsLowerCamelCaseWithEveryPrimitive) {
  livecall::v1::Session session;
  session.set_session_id("S1");
  session.set_phone_number("+998901112233");
  absl::StatusOr<std::string> json = MessageToJson(session);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr(R"("sessionId":"S1")"));
  EXPECT_THAT(*json, HasSubstr(R"("phoneNumber":"+998901112233")"));
  // Defaults are printed, so the page always sees the same keys.
  EXPECT_THAT(*json, HasSubstr(R"("callSid":"")"));
  EXPECT_THAT(*json, HasSubstr(R"("suggestions":[])"));
  EXPECT_THAT(*json, ::testing::Not(HasSubstr("session_id")));
}

TEST(MessageToJsonTest, TimestampsAreRfc3339AndFloatsAreNumbers) {
  livecall::v1::Session session;
  session.mutable_created_at()->set_seconds(1764147600);
  livecall::v1::Suggestion* suggestion = session.add_suggestions();
  suggestion->set_confidence(0.5f);
  absl::StatusOr<std::string> json = MessageToJson(session);
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr(R"("createdAt":"2025-11-26T09:00:00Z")"));
  EXPECT_THAT(*json, HasSubstr(R"("confidence":0.5)"));
}

TEST(JsonToMessageTest, RoundTripsThroughTheSameMapping) {
  livecall::v1::Customer customer;
  customer.set_name("Dilnoza");
  (*customer.mutable_attributes())["tier"] = "gold";
  customer.add_notes("prefers Uzbek");
  absl::StatusOr<std::string> json = MessageToJson(customer);
  ASSERT_TRUE(json.ok());
  livecall::v1::Customer parsed;
  ASSERT_TRUE(JsonToMessage(*json, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), customer.SerializeAsString());
}

}  // namespace
}  // namespace livecall::gateway
