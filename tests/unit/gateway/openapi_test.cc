#include "services/gateway/openapi.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace livecall::gateway {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouteTable> built = RouteTable::BuildServed();
    ASSERT_TRUE(built.ok()) << built.status();
    table_ = *std::move(built);
    absl::StatusOr<std::string> json = GenerateOpenApi(table_);
    ASSERT_TRUE(json.ok()) << json.status();
    json_ = *json;
    // Valid JSON: protobuf's strict parser reads the whole document back.
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json_, &document_).ok());
  }

  const Struct& Object(const Struct& parent, const std::string& key) {
    auto it = parent.fields().find(key);
    EXPECT_NE(it, parent.fields().end()) << "missing key " << key;
    static const Struct kEmpty;
    if (it == parent.fields().end()) return kEmpty;
    return it->second.struct_value();
  }

  std::string Text(const Struct& parent, const std::string& key) {
    auto it = parent.fields().find(key);
    return it == parent.fields().end() ? "" : it->second.string_value();
  }

  const Struct& Schema(const std::string& name) {
    return Object(Object(Object(document_, "components"), "schemas"), name);
  }

  RouteTable table_;
  std::string json_;
  Struct document_;
};

TEST_F(OpenApiTest, IsAnOpenApi303Document) {
  EXPECT_EQ(Text(document_, "openapi"), "3.0.3");
  EXPECT_FALSE(Text(Object(document_, "info"), "title").empty());
  EXPECT_FALSE(Text(Object(document_, "info"), "version").empty());
}

TEST_F(OpenApiTest, EveryRouteIsAnOperation) {
  const Struct& paths = Object(document_, "paths");
  for (const Route& route : table_.routes()) {
    if (route.builtin) continue;  // Below.
    const Struct& item = Object(paths, route.path.pattern());
    const Struct& operation = Object(item, absl::AsciiStrToLower(route.http_method));
    EXPECT_FALSE(Text(operation, "operationId").empty()) << route.path.pattern();
    const Struct& responses = Object(operation, "responses");
    // A webhook that only acknowledges answers 204; everything else 200.
    EXPECT_TRUE(responses.fields().contains("200") ||
                (route.twilio_webhook && responses.fields().contains("204")))
        << route.path.pattern();
    EXPECT_TRUE(responses.fields().contains("400"));
    EXPECT_TRUE(responses.fields().contains("503"));
    EXPECT_EQ(operation.fields().contains("requestBody"), route.body_is_request);
  }
  EXPECT_TRUE(paths.fields().contains("/healthz"));
  EXPECT_TRUE(paths.fields().contains("/openapi.json"));
  // On the admin port only.
  EXPECT_FALSE(paths.fields().contains("/readyz"));
  EXPECT_FALSE(paths.fields().contains("/metrics"));
}

// Every operation says who may call it: the bearer scheme, or an empty list for public routes,
// Twilio webhooks and signed audio links (signature-checked instead).
TEST_F(OpenApiTest, EveryOperationDeclaresItsSecurity) {
  std::set<std::string> open;
  for (const auto& [path, item] : Object(document_, "paths").fields()) {
    for (const auto& [method, operation] : item.struct_value().fields()) {
      const auto& fields = operation.struct_value().fields();
      ASSERT_TRUE(fields.contains("security")) << method << " " << path;
      const auto& requirements = fields.at("security").list_value();
      if (requirements.values_size() == 0) {
        open.insert(absl::StrCat(method, " ", path));
        continue;
      }
      ASSERT_EQ(requirements.values_size(), 1) << path;
      EXPECT_TRUE(requirements.values(0).struct_value().fields().contains("bearerAuth")) << path;
    }
  }
  EXPECT_THAT(open, ::testing::ElementsAre("get /healthz", "get /openapi.json",
                                           "get /tts/{file_name}", "post /api/auth/dev-login",
                                           "post /twilio/conference", "post /twilio/dtmf",
                                           "post /twilio/gather", "post /twilio/status",
                                           "post /twilio/transcription", "post /twilio/voice"));
  const Struct& login = Object(Object(Object(document_, "paths"), "/api/auth/dev-login"), "post");
  const Struct& shape = Schema("livecall.v1.DevLoginResponse");
  EXPECT_FALSE(Text(login, "operationId").empty());
  for (const char* field : {"token", "agentId", "role", "expiresAt"}) {
    EXPECT_TRUE(Object(shape, "properties").fields().contains(field)) << field;
  }
}

TEST_F(OpenApiTest, OperationIdsAreUnique) {
  std::set<std::string> ids;
  for (const auto& [path, item] : Object(document_, "paths").fields()) {
    for (const auto& [method, operation] : item.struct_value().fields()) {
      EXPECT_TRUE(ids.insert(Text(operation.struct_value(), "operationId")).second)
          << method << " " << path;
    }
  }
}

TEST_F(OpenApiTest, PathVariablesAreRequiredPathParameters) {
  const Struct& get = Object(Object(Object(document_, "paths"), "/api/calls/{call_sid}"), "get");
  const auto& parameters = get.fields().at("parameters").list_value();
  ASSERT_EQ(parameters.values_size(), 1);
  const Struct& parameter = parameters.values(0).struct_value();
  EXPECT_EQ(Text(parameter, "name"), "call_sid");
  EXPECT_EQ(Text(parameter, "in"), "path");
  EXPECT_TRUE(parameter.fields().at("required").bool_value());
}

TEST_F(OpenApiTest, BodyAndResponseReferenceMessageSchemas) {
  const Struct& post = Object(Object(Object(document_, "paths"), "/ai/call/start"), "post");
  const Struct& body_schema =
      Object(Object(Object(Object(post, "requestBody"), "content"), "application/json"), "schema");
  EXPECT_EQ(Text(body_schema, "$ref"), "#/components/schemas/livecall.v1.StartSessionRequest");
  const Struct& ok_schema = Object(
      Object(Object(Object(Object(post, "responses"), "200"), "content"), "application/json"),
      "schema");
  EXPECT_EQ(Text(ok_schema, "$ref"), "#/components/schemas/livecall.v1.Session");
  EXPECT_TRUE(Object(post, "responses").fields().contains("413"));
}

TEST_F(OpenApiTest, EveryReferenceResolves) {
  int references = 0;
  std::function<void(const Value&)> walk = [&](const Value& value) {
    if (value.has_struct_value()) {
      for (const auto& [key, child] : value.struct_value().fields()) {
        if (key == "$ref") {
          ++references;
          const std::string& ref = child.string_value();
          if (absl::StartsWith(ref, "#/components/schemas/")) {
            EXPECT_TRUE(Object(Object(document_, "components"), "schemas")
                            .fields()
                            .contains(ref.substr(strlen("#/components/schemas/"))))
                << ref;
          } else {
            EXPECT_EQ(ref, "#/components/responses/Error");
          }
        }
        walk(child);
      }
    } else if (value.has_list_value()) {
      for (const Value& child : value.list_value().values()) walk(child);
    }
  };
  Value root;
  *root.mutable_struct_value() = document_;
  walk(root);
  EXPECT_GT(references, 20);
}

TEST_F(OpenApiTest, SchemasFollowTheProto3JsonMapping) {
  const Struct& session = Object(Schema("livecall.v1.Session"), "properties");
  EXPECT_EQ(Text(Object(session, "sessionId"), "type"), "string");
  EXPECT_FALSE(session.fields().contains("session_id"));
  const Struct& created_at = Object(session, "createdAt");
  EXPECT_EQ(Text(created_at, "type"), "string");
  EXPECT_EQ(Text(created_at, "format"), "date-time");
  const Struct& suggestions = Object(session, "suggestions");
  EXPECT_EQ(Text(suggestions, "type"), "array");
  EXPECT_EQ(Text(Object(suggestions, "items"), "$ref"),
            "#/components/schemas/livecall.v1.Suggestion");
  EXPECT_EQ(Text(Object(session, "customer"), "$ref"), "#/components/schemas/livecall.v1.Customer");

  const Struct& customer = Object(Schema("livecall.v1.Customer"), "properties");
  const Struct& attributes = Object(customer, "attributes");
  EXPECT_EQ(Text(attributes, "type"), "object");
  EXPECT_EQ(Text(Object(attributes, "additionalProperties"), "type"), "string");
  EXPECT_EQ(Text(Object(customer, "known"), "type"), "boolean");

  const Struct& suggestion = Object(Schema("livecall.v1.Suggestion"), "properties");
  EXPECT_EQ(Text(Object(suggestion, "confidence"), "type"), "number");
  EXPECT_EQ(Text(Object(suggestion, "confidence"), "format"), "float");

  // Every message a route reaches has a component; Timestamp is inlined, not a component.
  for (const char* name :
       {"livecall.v1.PlaceCallRequest", "livecall.v1.Call", "livecall.v1.CallEvent",
        "livecall.v1.StartSessionRequest", "livecall.v1.Turn", "livecall.v1.Customer"}) {
    EXPECT_TRUE(Object(Object(document_, "components"), "schemas").fields().contains(name)) << name;
  }
  EXPECT_FALSE(Object(Object(document_, "components"), "schemas")
                   .fields()
                   .contains("google.protobuf.Timestamp"));
}

// The generated TypeScript client turns these into string unions. "" is an unset value.
TEST_F(OpenApiTest, EnumsListTheirJsonSpellings) {
  auto spellings = [this](const std::string& schema, const std::string& property) {
    std::vector<std::string> values;
    const Struct& field = Object(Object(Schema(schema), "properties"), property);
    EXPECT_EQ(Text(field, "type"), "string") << property;
    for (const Value& value : field.fields().at("enum").list_value().values()) {
      values.push_back(value.string_value());
    }
    return values;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(spellings("livecall.v1.Call", "status"),
              ElementsAre("", "queued", "ringing", "in-progress", "completed", "busy", "failed",
                          "no-answer", "canceled"));
  EXPECT_THAT(spellings("livecall.v1.CallEvent", "status"),
              ElementsAre("", "queued", "ringing", "in-progress", "completed", "busy", "failed",
                          "no-answer", "canceled"));
  EXPECT_THAT(spellings("livecall.v1.Call", "mode"), ElementsAre("", "tts", "ai", "agent"));
  EXPECT_THAT(spellings("livecall.v1.PlaceCallRequest", "mode"),
              ElementsAre("", "tts", "ai", "agent"));
  EXPECT_THAT(spellings("livecall.v1.Suggestion", "kind"),
              ElementsAre("", "answer", "next-step", "warning"));
  EXPECT_THAT(spellings("livecall.v1.DevLoginRequest", "role"),
              ElementsAre("", "agent", "supervisor", "service"));
  EXPECT_THAT(spellings("livecall.v1.DevLoginResponse", "role"),
              ElementsAre("", "agent", "supervisor", "service"));
  EXPECT_THAT(json_, ::testing::Not(::testing::HasSubstr("CALL_STATUS_")));
}

TEST_F(OpenApiTest, DescribesTheErrorBody) {
  const Struct& error = Schema("Error");
  const Struct& inner = Object(Object(error, "properties"), "error");
  EXPECT_TRUE(Object(inner, "properties").fields().contains("code"));
  EXPECT_TRUE(Object(inner, "properties").fields().contains("message"));
  EXPECT_TRUE(Object(inner, "properties").fields().contains("requestId"));
  const Struct& response = Object(Object(Object(document_, "components"), "responses"), "Error");
  EXPECT_EQ(Text(Object(Object(Object(response, "content"), "application/json"), "schema"), "$ref"),
            "#/components/schemas/Error");
}

TEST_F(OpenApiTest, WebhooksAreFormPostsWithASignatureAndTwimlAnswers) {
  const Struct& paths = Object(document_, "paths");
  const Struct& voice = Object(Object(paths, "/twilio/voice"), "post");
  EXPECT_TRUE(Object(Object(voice, "requestBody"), "content")
                  .fields()
                  .contains("application/x-www-form-urlencoded"));
  EXPECT_TRUE(
      Object(Object(Object(voice, "responses"), "200"), "content").fields().contains("text/xml"));
  EXPECT_TRUE(Object(voice, "responses").fields().contains("403"));
  const Struct& status = Object(Object(paths, "/twilio/status"), "post");
  EXPECT_TRUE(Object(status, "responses").fields().contains("204"));
  const Struct& token = Object(Object(paths, "/api/voice/token"), "post");
  EXPECT_TRUE(token.fields().contains("security"));
  EXPECT_TRUE(
      Object(Object(document_, "components"), "securitySchemes").fields().contains("bearerAuth"));
}

}  // namespace
}  // namespace livecall::gateway
