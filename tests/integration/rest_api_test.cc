// The REST contract of the gateway, end to end through the real services and a real Redis: the
// two seed endpoints under both of their paths, reading state back, customers, and the generated
// API document.

#include <google/protobuf/descriptor.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/enum_json.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "livecall/v1/http.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/files.h"
#include "tests/support/json.h"
#include "tests/support/proto_matchers.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"
#include "tests/support/wav.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::Call;
using ::livecall::v1::Customer;
using ::livecall::v1::Session;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kDilshod[] = "+998901112233";
constexpr char kAnna[] = "+998935550101";
constexpr char kJohn[] = "+998977770707";
constexpr char kUnknownUzbekNumber[] = "+998712345678";

class RestApiTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() { StartSuite(IntegrationSuiteOptions()); }
  static void TearDownTestSuite() { StopSuite(); }
};

// "CA" and 32 lower-case hex digits, as Twilio names calls.
bool IsTwilioCallSid(const std::string& sid) {
  if (sid.size() != 34 || !absl::StartsWith(sid, "CA")) return false;
  for (char c : sid.substr(2)) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

// Every object key in a JSON value, recursively, except inside maps of free-form data.
void CollectKeys(const google::protobuf::Value& value, std::set<std::string>* keys) {
  if (value.has_struct_value()) {
    for (const auto& [key, member] : value.struct_value().fields()) {
      keys->insert(key);
      if (key != "attributes") CollectKeys(member, keys);
    }
  } else if (value.has_list_value()) {
    for (const google::protobuf::Value& item : value.list_value().values()) CollectKeys(item, keys);
  }
}

TEST_F(RestApiTest, AiCallStartReturnsSessionWithGreeting) {
  for (const std::string path : {"/ai/call/start", "/api/ai/call/start"}) {
    SCOPED_TRACE(path);
    HttpResponse response = Post(path, R"({"phoneNumber":"+998901112233"})");
    ASSERT_EQ(response.status, 200) << response;
    EXPECT_THAT(response.headers["content-type"], StartsWith("application/json"));
    Session session;
    ASSERT_THAT(ParseJsonMessage(response.body, &session), IsOk());

    EXPECT_THAT(session.session_id(), Not(IsEmpty()));
    EXPECT_EQ(session.phone_number(), kDilshod);
    EXPECT_EQ(session.direction(), "outbound");
    EXPECT_EQ(session.language(), "uz");
    EXPECT_EQ(session.status(), "active");
    EXPECT_THAT(session.greeting(), HasSubstr("Dilshod"));
    EXPECT_EQ(session.customer().phone_number(), kDilshod);
    EXPECT_EQ(session.customer().name(), "Dilshod Karimov");
    EXPECT_EQ(session.customer().language(), "uz");
    EXPECT_TRUE(session.customer().known());
    EXPECT_EQ(session.customer().source(), "directory");
    EXPECT_TRUE(session.has_created_at());
    EXPECT_TRUE(session.has_updated_at());
    EXPECT_THAT(session.suggestions(), Not(IsEmpty())) << "the page shows first suggestions";
    for (const auto& suggestion : session.suggestions()) {
      EXPECT_THAT(suggestion.id(), Not(IsEmpty()));
      EXPECT_THAT(suggestion.text(), Not(IsEmpty()));
      EXPECT_THAT(EnumJsonName(suggestion.kind()),
                  AnyOf(Eq("answer"), Eq("next-step"), Eq("warning")));
      EXPECT_GE(suggestion.confidence(), 0.0f);
      EXPECT_LE(suggestion.confidence(), 1.0f);
    }
  }
}

TEST_F(RestApiTest, ResponseJsonUsesLowerCamelCase) {
  HttpResponse response = Post("/ai/call/start", R"({"phoneNumber":"+998901112233"})");
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<google::protobuf::Value> json = ParseJson(response.body);
  ASSERT_THAT(json, IsOk());
  std::set<std::string> keys;
  CollectKeys(*json, &keys);
  for (const char* key : {"sessionId", "phoneNumber", "customer", "greeting", "createdAt"}) {
    EXPECT_TRUE(keys.count(key)) << "no \"" << key << "\" in " << response.body;
  }
  for (const std::string& key : keys) {
    EXPECT_THAT(key, Not(HasSubstr("_"))) << response.body;
  }
}

TEST_F(RestApiTest, AcceptsProtoFieldNamesInRequests) {
  HttpResponse response = Post("/ai/call/start", R"({"phone_number":"+998901112233"})");
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Session> session = ParseJsonAs<Session>(response.body);
  ASSERT_THAT(session, IsOk());
  EXPECT_EQ(session->phone_number(), kDilshod);
}

TEST_F(RestApiTest, GreetingFollowsTheCustomersLanguage) {
  Session anna;
  ASSERT_NO_FATAL_FAILURE(StartSession(kAnna, &anna));
  EXPECT_EQ(anna.customer().name(), "Анна Петрова");
  EXPECT_EQ(anna.language(), "ru");
  EXPECT_THAT(anna.greeting(), HasSubstr("Анна"));

  Session john;
  ASSERT_NO_FATAL_FAILURE(StartSession(kJohn, &john));
  EXPECT_EQ(john.customer().name(), "John Smith");
  EXPECT_EQ(john.language(), "en");
  EXPECT_THAT(john.greeting(), HasSubstr("John"));
}

TEST_F(RestApiTest, LanguageInRequestOverridesCustomersLanguage) {
  HttpResponse response =
      Post("/ai/call/start", R"({"phoneNumber":"+998901112233","language":"en"})");
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Session> session = ParseJsonAs<Session>(response.body);
  ASSERT_THAT(session, IsOk());
  EXPECT_EQ(session->language(), "en");
  EXPECT_THAT(session->greeting(), HasSubstr("Dilshod"));
}

// A BCP-47 tag names the same language as its bare code, in any case (common/language.h).
TEST_F(RestApiTest, LanguageMayBeABcp47Tag) {
  HttpResponse response =
      Post("/ai/call/start", R"({"phoneNumber":"+998901112233","language":"ru-RU"})");
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Session> session = ParseJsonAs<Session>(response.body);
  ASSERT_THAT(session, IsOk());
  EXPECT_EQ(session->language(), "ru");
  EXPECT_THAT(session->greeting(), HasSubstr("Здравствуйте"));

  HttpResponse placed =
      Post("/api/voip/call", R"({"to":"+998901112233","text":"Hello","language":"EN-us"})");
  ASSERT_EQ(placed.status, 200) << placed;
  absl::StatusOr<livecall::v1::Call> english = ParseJsonAs<livecall::v1::Call>(placed.body);
  ASSERT_THAT(english, IsOk());
  EXPECT_EQ(english->language(), "en");

  ExpectErrorResponse(
      Post("/ai/call/start", R"({"phoneNumber":"+998901112233","language":"uz-Cyrl-UZ"})"), 400,
      "INVALID_ARGUMENT");
  ExpectErrorResponse(
      Post("/api/voip/call", R"({"to":"+998901112233","text":"Hallo","language":"de-DE"})"), 400,
      "INVALID_ARGUMENT");
}

TEST_F(RestApiTest, OptionalStartFieldsAreKept) {
  HttpResponse response =
      Post("/api/ai/call/start",
           R"({"phoneNumber":"+998901112233","callSid":"CA0123456789abcdef0123456789abcdef",)"
           R"("direction":"inbound","agentId":"agent-7"})");
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Session> session = ParseJsonAs<Session>(response.body);
  ASSERT_THAT(session, IsOk());
  EXPECT_EQ(session->call_sid(), "CA0123456789abcdef0123456789abcdef");
  EXPECT_EQ(session->direction(), "inbound");
  EXPECT_EQ(session->agent_id(), "agent-7");
}

TEST_F(RestApiTest, PhoneSpellingsResolveToSameCustomer) {
  for (const std::string spelling :
       {"+998901112233", "90 111 22 33", "+998 90 111-22-33", "998901112233"}) {
    SCOPED_TRACE(spelling);
    Session session;
    ASSERT_NO_FATAL_FAILURE(StartSession(spelling, &session));
    EXPECT_EQ(session.phone_number(), kDilshod);
    EXPECT_EQ(session.customer().phone_number(), kDilshod);
    EXPECT_EQ(session.customer().name(), "Dilshod Karimov");
    EXPECT_TRUE(session.customer().known());
  }
}

TEST_F(RestApiTest, UnknownNumberGetsGenericGreeting) {
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession(kUnknownUzbekNumber, &session));
  EXPECT_EQ(session.phone_number(), kUnknownUzbekNumber);
  EXPECT_FALSE(session.customer().known());
  EXPECT_EQ(session.customer().source(), "none");
  EXPECT_EQ(session.language(), "uz");
  EXPECT_THAT(session.greeting(), Not(IsEmpty()));
  for (const char* name : {"Dilshod", "Анна", "John"}) {
    EXPECT_THAT(session.greeting(), Not(HasSubstr(name)));
  }
}

TEST_F(RestApiTest, SessionReadBack) {
  Session started;
  ASSERT_NO_FATAL_FAILURE(StartSession(kAnna, &started));
  for (const std::string prefix : {"/ai/sessions/", "/api/ai/sessions/"}) {
    SCOPED_TRACE(prefix);
    HttpResponse response = Get(prefix + started.session_id());
    ASSERT_EQ(response.status, 200) << response;
    absl::StatusOr<Session> read = ParseJsonAs<Session>(response.body);
    ASSERT_THAT(read, IsOk());
    EXPECT_THAT(*read, EqualsProto(started));
  }
}

TEST_F(RestApiTest, UnknownSessionIsNotFound) {
  ExpectErrorResponse(Get("/ai/sessions/no-such-session"), 404, "NOT_FOUND");
}

TEST_F(RestApiTest, CustomerLookupAcceptsAnySpelling) {
  for (const std::string spelling : {"+998901112233", "998901112233", "90 111 22 33"}) {
    SCOPED_TRACE(spelling);
    HttpResponse response = Get("/api/customers/" + UrlEncode(spelling));
    ASSERT_EQ(response.status, 200) << response;
    absl::StatusOr<Customer> customer = ParseJsonAs<Customer>(response.body);
    ASSERT_THAT(customer, IsOk());
    EXPECT_EQ(customer->phone_number(), kDilshod);
    EXPECT_EQ(customer->name(), "Dilshod Karimov");
    EXPECT_EQ(customer->language(), "uz");
    EXPECT_TRUE(customer->known());
    EXPECT_EQ(customer->source(), "directory");
  }
}

TEST_F(RestApiTest, UnknownCustomerIsReportedAsUnknown) {
  HttpResponse response = Get("/api/customers/" + UrlEncode(kUnknownUzbekNumber));
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Customer> customer = ParseJsonAs<Customer>(response.body);
  ASSERT_THAT(customer, IsOk());
  EXPECT_EQ(customer->phone_number(), kUnknownUzbekNumber);
  EXPECT_FALSE(customer->known());
}

TEST_F(RestApiTest, VoipCallMovesThroughSandboxLifecycle) {
  for (const std::string path : {"/api/voip/call", "/voip/call"}) {
    SCOPED_TRACE(path);
    HttpResponse response = Post(path, R"({"to":"90 111 22 33","text":"Salom"})");
    ASSERT_EQ(response.status, 200) << response;
    Call placed;
    ASSERT_THAT(ParseJsonMessage(response.body, &placed), IsOk());
    EXPECT_TRUE(IsTwilioCallSid(placed.call_sid())) << placed.call_sid();
    EXPECT_EQ(placed.to(), kDilshod);
    EXPECT_THAT(placed.from(), Not(IsEmpty()));
    EXPECT_EQ(placed.status(), livecall::v1::CALL_STATUS_QUEUED);
    EXPECT_EQ(placed.direction(), "outbound-api");
    EXPECT_EQ(placed.text(), "Salom");
    EXPECT_EQ(placed.provider(), "sandbox");
    EXPECT_THAT(HistoryStatuses(placed), ElementsAre("queued"));

    Call latest;
    HttpResponse last;
    bool completed = WaitFor(
        [&] {
          last = Get("/api/calls/" + placed.call_sid());
          return last.status == 200 && ParseJsonMessage(last.body, &latest).ok() &&
                 latest.status() == livecall::v1::CALL_STATUS_COMPLETED;
        },
        absl::Seconds(15));
    ASSERT_TRUE(completed) << "last answer: " << last;
    EXPECT_EQ(latest.call_sid(), placed.call_sid());
    EXPECT_EQ(latest.text(), "Salom");
    EXPECT_THAT(HistoryStatuses(latest),
                ElementsAre("queued", "ringing", "in-progress", "completed"));
    for (int i = 1; i < latest.history_size(); ++i) {
      EXPECT_LE(FromProtoTimestamp(latest.history(i - 1).at()),
                FromProtoTimestamp(latest.history(i).at()))
          << latest.ShortDebugString();
    }
    EXPECT_LE(FromProtoTimestamp(latest.created_at()), FromProtoTimestamp(latest.updated_at()));
  }
}

TEST_F(RestApiTest, VoipCallKeepsOptionalFields) {
  HttpResponse response = Post(
      "/api/voip/call", R"({"to":"+998935550101","text":"Здравствуйте","from":"+998712000000",)"
                        R"("voice":"Polly.Tatyana","language":"ru"})");
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Call> call = ParseJsonAs<Call>(response.body);
  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->to(), kAnna);
  EXPECT_EQ(call->from(), "+998712000000");
  EXPECT_EQ(call->text(), "Здравствуйте");
  EXPECT_EQ(call->voice(), "Polly.Tatyana");
  EXPECT_EQ(call->language(), "ru");
}

TEST_F(RestApiTest, SandboxUzbekCallCarriesAudioTheGatewayServes) {
  HttpResponse response =
      Post("/api/voip/call", R"({"to":"+998901112233","text":"Salom, Dilshod aka!"})");
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Call> call = ParseJsonAs<Call>(response.body);
  ASSERT_THAT(call, IsOk());
  // LIVECALL_PUBLIC_URL is the default http://localhost:8080; the path is the gateway's.
  const std::string prefix = "http://localhost:8080/tts/";
  ASSERT_EQ(call->audio_url().substr(0, prefix.size()), prefix) << call->audio_url();
  HttpResponse audio = Get(call->audio_url().substr(prefix.size() - 5));
  ASSERT_EQ(audio.status, 200) << audio;
  EXPECT_EQ(audio.headers["content-type"], "audio/wav");
  absl::StatusOr<WavInfo> wav = ParseWav(audio.body);
  ASSERT_THAT(wav, IsOk());
  EXPECT_EQ(wav->format_tag, 7);
  EXPECT_EQ(wav->sample_rate, 8000);
  EXPECT_GT(wav->duration(), absl::Milliseconds(800));
  // The call read back names the same audio.
  absl::StatusOr<Call> read_back = ParseJsonAs<Call>(Get("/api/calls/" + call->call_sid()).body);
  ASSERT_THAT(read_back, IsOk());
  EXPECT_EQ(read_back->audio_url(), call->audio_url());
}

TEST_F(RestApiTest, UnknownCallIsNotFound) {
  ExpectErrorResponse(Get("/api/calls/CA00000000000000000000000000000000"), 404, "NOT_FOUND");
}

TEST_F(RestApiTest, HealthzIsOk) {
  HttpResponse response = Get("/healthz");
  EXPECT_EQ(response.status, 200) << response;
  response = HttpRequest("GET", suite().admin_url() + "/readyz");
  EXPECT_EQ(response.status, 200) << response;
}

// /readyz and /metrics are on the admin port (LIVECALL_ADMIN_ADDR) only, which the Ingress does
// not route: a flood through the public port cannot make the pods NotReady.
TEST_F(RestApiTest, ReadyzAndMetricsAreNotOnThePublicPort) {
  EXPECT_EQ(Get("/readyz").status, 404);
  EXPECT_EQ(Get("/metrics").status, 404);
  EXPECT_EQ(HttpRequest("GET", suite().admin_url() + "/metrics").status, 200);
}

// "/ai/sessions/{session_id}" and "/ai/sessions/{sessionId}" are the same route.
std::string WithoutVariableNames(const std::string& path) {
  std::string out;
  bool in_variable = false;
  for (char c : path) {
    if (c == '{') {
      in_variable = true;
      out += "{}";
    } else if (c == '}') {
      in_variable = false;
    } else if (!in_variable) {
      out += c;
    }
  }
  return out;
}

struct Route {
  std::string method;  // lower case, as OpenAPI writes operations
  std::string path;
};

void AddRoutes(const livecall::v1::HttpRule& rule, std::vector<Route>* routes) {
  switch (rule.pattern_case()) {
    case livecall::v1::HttpRule::kGet:
      routes->push_back({"get", rule.get()});
      break;
    case livecall::v1::HttpRule::kPut:
      routes->push_back({"put", rule.put()});
      break;
    case livecall::v1::HttpRule::kPost:
      routes->push_back({"post", rule.post()});
      break;
    case livecall::v1::HttpRule::kDelete:
      routes->push_back({"delete", rule.delete_()});
      break;
    case livecall::v1::HttpRule::kPatch:
      routes->push_back({"patch", rule.patch()});
      break;
    case livecall::v1::HttpRule::PATTERN_NOT_SET:
      break;
  }
  for (const livecall::v1::HttpRule& binding : rule.additional_bindings()) {
    AddRoutes(binding, routes);
  }
}

// Every REST route declared in the protos, read from the same descriptors the gateway uses.
std::vector<Route> RoutesDeclaredInProtos() {
  std::vector<Route> routes;
  for (const google::protobuf::FileDescriptor* file :
       {livecall::v1::Session::descriptor()->file(),
        livecall::v1::StartSessionRequest::descriptor()->file(),
        livecall::v1::Call::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const google::protobuf::MethodOptions& options = service->method(m)->options();
        if (options.HasExtension(livecall::v1::http)) {
          AddRoutes(options.GetExtension(livecall::v1::http), &routes);
        }
      }
    }
  }
  return routes;
}

TEST_F(RestApiTest, OpenApiDocumentListsEveryRoute) {
  HttpResponse response = Get("/openapi.json");
  ASSERT_EQ(response.status, 200) << response;
  EXPECT_THAT(response.headers["content-type"], StartsWith("application/json"));
  absl::StatusOr<google::protobuf::Value> document = ParseJson(response.body);
  ASSERT_THAT(document, IsOk());
  EXPECT_THAT(JsonString(*document, {"openapi"}), StartsWith("3."));
  const google::protobuf::Value* paths = JsonMember(*document, "paths");
  ASSERT_NE(paths, nullptr) << response.body;
  ASSERT_TRUE(paths->has_struct_value()) << response.body;

  std::vector<Route> routes = RoutesDeclaredInProtos();
  ASSERT_GE(routes.size(), 7u) << "the protos declare at least the seed's routes";
  for (const Route& route : routes) {
    SCOPED_TRACE(route.method + " " + route.path);
    const google::protobuf::Value* operations = nullptr;
    for (const auto& [documented_path, value] : paths->struct_value().fields()) {
      if (WithoutVariableNames(documented_path) == WithoutVariableNames(route.path)) {
        operations = &value;
      }
    }
    ASSERT_NE(operations, nullptr) << "path missing from /openapi.json";
    EXPECT_NE(JsonMember(*operations, route.method), nullptr) << "operation missing";
  }
}

TEST_F(RestApiTest, EveryProcessLogsOneJsonObjectPerLine) {
  for (Service service : kAllServices) {
    SCOPED_TRACE(std::string(ServiceName(service)));
    std::string log = ReadFileOrEmpty(suite().process(service).log_path());
    bool listening = false;
    int lines = 0;
    for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
      ++lines;
      absl::StatusOr<google::protobuf::Value> json = ParseJson(line);
      ASSERT_THAT(json, IsOk()) << "not a JSON line: " << line;
      ASSERT_TRUE(json->has_struct_value()) << "not a JSON object: " << line;
      EXPECT_THAT(JsonString(*json, {"msg"}), Not(IsEmpty())) << line;
      if (JsonString(*json, {"msg"}) == "listening") {
        std::string port = std::to_string(suite().port(service));
        listening = JsonString(*json, {"port"}) == port ||
                    absl::EndsWith(JsonString(*json, {"addr"}), ":" + port);
      }
    }
    EXPECT_GT(lines, 0);
    EXPECT_TRUE(listening) << "no {\"msg\":\"listening\",\"port\":\"" << suite().port(service)
                           << "\"} line in:\n"
                           << log;
  }
}

}  // namespace
}  // namespace livecall::testing
