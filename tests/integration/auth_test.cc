// Authentication, authorisation and abuse limits, end to end through the real services: every
// route of /openapi.json against every kind of credential, tokens from another login (ES256,
// RS256 with keys made here), the dev login, CORS, rate limits, the outbound-call cap, gRPC API
// keys, and logs that never carry a credential.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/caller_identity.h"
#include "common/enum_json.h"
#include "common/jwt.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "livecall/v1/ai_session.grpc.pb.h"
#include "livecall/v1/call_control.grpc.pb.h"
#include "livecall/v1/context.grpc.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/files.h"
#include "tests/support/json.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::Call;
using ::livecall::v1::Session;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDilshod[] = "+998901112233";
constexpr char kOrigin[] = "https://live.example.com";

std::string Bearer(const std::string& token) { return absl::StrCat("Bearer ", token); }

// A token over `payload` for the suite's HS256 secret, exp one hour away unless given.
std::string Hs256(const std::string& sub, const std::string& role,
                  const std::string& secret = kTestJwtSecret, int64_t exp_offset_s = 3600) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                      absl::StrCat(R"({"sub":")", sub, R"(","role":")", role, R"(","exp":)",
                                   now + exp_offset_s, "}"),
                      secret);
}

std::string Payload(const std::string& sub, const std::string& role) {
  return absl::StrCat(R"({"sub":")", sub, R"(","role":")", role, R"(","exp":)",
                      absl::ToUnixSeconds(absl::Now()) + 3600, "}");
}

// Writes `text` to a new file in a new temporary directory; its path.
std::string WriteTempFile(const std::string& name, const std::string& text) {
  absl::StatusOr<std::string> dir = MakeTempDir("livecall-auth-");
  EXPECT_TRUE(dir.ok()) << dir.status();
  const std::string path = absl::StrCat(*dir, "/", name);
  std::ofstream(path) << text;
  return path;
}

class AuthTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    key_ = new TestKeyPair(TestKeyPair::EcP256());
    SuiteOptions options = IntegrationSuiteOptions();
    options.log_level = "debug";  // Everything a process could log is in the logs looked at.
    options.sandbox_talk = absl::Seconds(30);  // Calls stay in progress while the matrix runs.
    options.extra_env["LIVECALL_JWT_PUBLIC_KEY_FILE"] =
        WriteTempFile("login.pem", key_->PublicKeyPem());
    options.extra_env["LIVECALL_DEV_LOGIN"] = "on";
    options.extra_env["LIVECALL_CORS_ORIGINS"] = kOrigin;
    StartSuite(options);
  }
  static void TearDownTestSuite() {
    StopSuite();
    delete key_;
  }

  static HttpResponse As(const std::string& token, const std::string& method,
                         const std::string& path, const std::string& body = "",
                         absl::Duration timeout = absl::Seconds(10)) {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = Bearer(token);
    return HttpRequest(method, suite().base_url() + path, body, headers, timeout);
  }

  // A call placed by `agent`, and the AI session it started (sandbox, in progress for 30 s).
  static void PlaceAs(const std::string& agent, Call* call) {
    HttpResponse placed = As(Hs256(agent, "agent"), "POST", "/api/voip/call",
                             absl::StrCat(R"({"to":")", kDilshod, R"(","text":"Salom"})"));
    ASSERT_EQ(placed.status, 200) << placed;
    ASSERT_THAT(ParseJsonMessage(placed.body, call), IsOk());
  }
  static void StartAs(const std::string& agent, Session* session) {
    HttpResponse started = As(Hs256(agent, "agent"), "POST", "/ai/call/start",
                              absl::StrCat(R"({"phoneNumber":")", kDilshod, R"("})"));
    ASSERT_EQ(started.status, 200) << started;
    ASSERT_THAT(ParseJsonMessage(started.body, session), IsOk());
  }

  static inline TestKeyPair* key_ = nullptr;
};

// Every operation of the published API document, with each kind of credential: nothing gets past
// a missing or bad token, another agent never reads or controls a call or session it does not
// own, and the owner, a supervisor and a service are never refused.
TEST_F(AuthTest, EveryRouteOfTheApiDocumentAgainstEveryCredential) {
  Call call;
  ASSERT_NO_FATAL_FAILURE(PlaceAs("agent-owner", &call));
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartAs("agent-owner", &session));

  HttpResponse document = Get("/openapi.json");
  ASSERT_EQ(document.status, 200);
  absl::StatusOr<google::protobuf::Value> openapi = ParseJson(document.body);
  ASSERT_THAT(openapi, IsOk());

  const std::string owner = Hs256("agent-owner", "agent");
  const std::string tampered = absl::StrCat(owner.substr(0, owner.find('.')), ".",
                                            Base64UrlEncode(Payload("agent-owner", "supervisor")),
                                            owner.substr(owner.rfind('.')));
  struct Credential {
    std::string name;
    std::string token;
    enum { kRefused, kOwner, kOther } expect;
    // The token's role, for routes that allow only some roles.
    std::string role;
  };
  const std::vector<Credential> credentials = {
      {"no token", "", Credential::kRefused, ""},
      {"expired", Hs256("agent-owner", "agent", kTestJwtSecret, -600), Credential::kRefused, ""},
      {"alg none",
       absl::StrCat(Base64UrlEncode(R"({"alg":"none"})"), ".",
                    Base64UrlEncode(Payload("agent-owner", "supervisor")), "."),
       Credential::kRefused, ""},
      {"wrong key", Hs256("agent-owner", "agent", "not-the-suite-secret-0123456789abc"),
       Credential::kRefused, ""},
      {"tampered payload", tampered, Credential::kRefused, ""},
      {"other agent", Hs256("agent-other", "agent"), Credential::kOther, "agent"},
      {"owner", owner, Credential::kOwner, "agent"},
      {"supervisor", Hs256("boss", "supervisor"), Credential::kOwner, "supervisor"},
      {"service", Hs256("crm-sync", "service"), Credential::kOwner, "service"},
  };

  int operations = 0;
  int role_restricted = 0;
  for (const auto& [path, item] : JsonMember(*openapi, "paths")->struct_value().fields()) {
    for (const auto& [method, operation] : item.struct_value().fields()) {
      ++operations;
      const google::protobuf::Value* security = JsonMember(operation, "security");
      ASSERT_NE(security, nullptr) << method << " " << path << " declares no security";
      const bool is_public = security->list_value().values_size() == 0;
      // The roles a route allows (x-livecall-roles); absent: every role.
      std::set<std::string> roles;
      if (const google::protobuf::Value* listed = JsonMember(operation, "x-livecall-roles")) {
        for (const google::protobuf::Value& role : listed->list_value().values()) {
          roles.insert(role.string_value());
        }
        ++role_restricted;
      }
      const bool owned =
          absl::StrContains(path, "{call_sid}") || absl::StrContains(path, "{session_id}");
      const bool streams = absl::EndsWith(path, "/events");
      const std::string target =
          absl::StrReplaceAll(path, {{"{call_sid}", call.call_sid()},
                                     {"{session_id}", session.session_id()},
                                     {"{phone_number}", UrlEncode(kDilshod)}});
      const std::string http_method = absl::AsciiStrToUpper(method);
      // A valid request where the route takes a body, so what is refused is refused for who asks.
      const bool has_body = JsonMember(operation, "requestBody") != nullptr;
      std::string body = has_body ? "{}" : "";
      if (absl::EndsWith(path, "/voip/call")) {
        body = absl::StrCat(R"({"to":")", kDilshod, R"(","text":"Salom"})");
      } else if (absl::EndsWith(path, "/call/start")) {
        body = absl::StrCat(R"({"phoneNumber":")", kDilshod, R"("})");
      } else if (absl::EndsWith(path, "/turns")) {
        body = R"({"speaker":"agent","text":"Salom"})";
      } else if (absl::EndsWith(path, "/dtmf")) {
        body = R"({"digits":"1"})";
      } else if (absl::EndsWith(path, "/dev-login")) {
        body = R"({"agentId":"agent-matrix"})";
      }
      for (const Credential& credential : credentials) {
        SCOPED_TRACE(absl::StrCat(http_method, " ", path, " with ", credential.name));
        // A live-event stream that is let in stays open: its status line is enough.
        HttpResponse response = As(credential.token, http_method, target, body,
                                   streams ? absl::Seconds(1) : absl::Seconds(10));
        ASSERT_NE(response.status, 0) << response;
        if (is_public) {
          EXPECT_THAT(response.status, Not(AnyOf(401, 500))) << response;
          continue;
        }
        if (credential.expect != Credential::kRefused && !roles.empty() &&
            !roles.contains(credential.role)) {
          // A valid token whose role the route does not allow: 403, saying which roles it needs.
          ExpectErrorResponse(response, 403, "PERMISSION_DENIED");
          EXPECT_THAT(response.body, HasSubstr(*roles.begin())) << response;
          continue;
        }
        switch (credential.expect) {
          case Credential::kRefused:
            EXPECT_EQ(response.status, 401) << response;
            EXPECT_THAT(response.headers["www-authenticate"], HasSubstr("Bearer")) << response;
            break;
          case Credential::kOther:
            if (owned) {
              ExpectErrorResponse(response, 403, "PERMISSION_DENIED");
            } else {
              EXPECT_THAT(response.status, Not(AnyOf(401, 403, 500))) << response;
            }
            break;
          case Credential::kOwner:
            EXPECT_THAT(response.status, Not(AnyOf(401, 403, 500))) << response;
            break;
        }
      }
    }
  }
  EXPECT_GT(operations, 25);
  EXPECT_GE(role_restricted, 1) << "no route restricts roles: the role rows test nothing";
}

// GET /api/calls: the calls that have not ended, newest first, for supervisors and services only.
TEST_F(AuthTest, SupervisorsSeeTheLiveFloorAndAgentsAreRefused) {
  Call older;
  Call newer;
  ASSERT_NO_FATAL_FAILURE(PlaceAs("agent-floor-1", &older));
  ASSERT_NO_FATAL_FAILURE(PlaceAs("agent-floor-2", &newer));
  const std::string supervisor = Hs256("boss", "supervisor");
  auto listed = [&](const std::string& query) {
    HttpResponse response = As(supervisor, "GET", "/api/calls" + query);
    EXPECT_EQ(response.status, 200) << response;
    std::vector<std::string> sids;
    livecall::v1::ListCallsResponse calls;
    EXPECT_THAT(ParseJsonMessage(response.body, &calls), IsOk()) << response;
    for (const Call& call : calls.calls()) {
      EXPECT_THAT(EnumJsonName(call.status()), AnyOf("queued", "ringing", "in-progress"))
          << call.call_sid();
      sids.push_back(call.call_sid());
    }
    return sids;
  };
  std::vector<std::string> floor = listed("?limit=200");
  auto position = [&](const std::string& sid) {
    return std::find(floor.begin(), floor.end(), sid) - floor.begin();
  };
  ASSERT_LT(position(newer.call_sid()), static_cast<long>(floor.size()));
  ASSERT_LT(position(older.call_sid()), static_cast<long>(floor.size()));
  EXPECT_LT(position(newer.call_sid()), position(older.call_sid())) << "newest first";
  EXPECT_EQ(listed("?limit=1").size(), 1u);
  EXPECT_EQ(As(Hs256("sync", "service"), "GET", "/api/calls").status, 200);

  // An agent — even one with calls on the floor — is refused, and told who may look.
  HttpResponse agent = As(Hs256("agent-floor-1", "agent"), "GET", "/api/calls");
  ExpectErrorResponse(agent, 403, "PERMISSION_DENIED");
  EXPECT_THAT(agent.body, HasSubstr("supervisor"));
  ExpectErrorResponse(As(supervisor, "GET", "/api/calls?limit=1000"), 400, "INVALID_ARGUMENT");

  // A call that ends leaves the floor.
  HttpResponse hangup = As(supervisor, "POST", "/api/calls/" + older.call_sid() + "/hangup");
  ASSERT_TRUE(hangup.status == 200 || hangup.status == 409) << hangup;
  if (hangup.status == 409) {  // Not answered yet: wait until it is, then hang up.
    ASSERT_TRUE(WaitFor(
        [&] {
          return As(supervisor, "POST", "/api/calls/" + older.call_sid() + "/hangup").status == 200;
        },
        absl::Seconds(10)));
  }
  floor = listed("?limit=200");
  EXPECT_EQ(position(older.call_sid()), static_cast<long>(floor.size()));
  EXPECT_LT(position(newer.call_sid()), static_cast<long>(floor.size()));
}

// The order of checks on a call's or a session's actions: 401, then 403/404, then 400. Another
// agent is refused whatever its body says, so it learns nothing by sending malformed requests.
TEST_F(AuthTest, OwnershipIsCheckedBeforeTheRequestBody) {
  Call call;
  ASSERT_NO_FATAL_FAILURE(PlaceAs("agent-order", &call));
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartAs("agent-order", &session));
  const std::string owner = Hs256("agent-order", "agent");
  const std::string other = Hs256("agent-nosy", "agent");
  const std::string calls = "/api/calls/" + call.call_sid();
  const std::string sessions = "/ai/sessions/" + session.session_id();
  struct Probe {
    std::string path;
    std::string body;
  };
  const std::vector<Probe> malformed = {
      {calls + "/dtmf", R"({"digits":"<x>"})"},         // Refused by call-control.
      {calls + "/dtmf", R"({"digits":"1","tone":2})"},  // An unknown field: by the gateway.
      {calls + "/dtmf", "{not json"},
      {calls + "/hold?force=1", ""},  // An unknown query parameter.
      {sessions + "/turns", R"({"speaker":"robot","text":"hi"})"},
      {sessions + "/turns", R"({"speaker":"agent","text":"hi","mood":"happy"})"},
      {sessions + "/end", R"({"disposition":"exploded"})"},
      {sessions + "/end", "[]"},
  };
  for (const Probe& probe : malformed) {
    SCOPED_TRACE(probe.path + " " + probe.body);
    EXPECT_EQ(As("", "POST", probe.path, probe.body).status, 401);
    ExpectErrorResponse(As(other, "POST", probe.path, probe.body), 403, "PERMISSION_DENIED");
    ExpectErrorResponse(As(owner, "POST", probe.path, probe.body), 400, "INVALID_ARGUMENT");
  }
  // No such call or session: 404 before anything is said about the body.
  ExpectErrorResponse(As(other, "POST", "/api/calls/CA00000000000000000000000000000000/dtmf",
                         R"({"digits":"<x>"})"),
                      404, "NOT_FOUND");
  ExpectErrorResponse(
      As(other, "POST", "/ai/sessions/ses_00000000000000000000000000000000/turns", "{not json"),
      404, "NOT_FOUND");
  // Nothing was changed by any of it.
  HttpResponse read = As(owner, "GET", sessions);
  ASSERT_EQ(read.status, 200) << read;
  Session stored;
  ASSERT_THAT(ParseJsonMessage(read.body, &stored), IsOk());
  EXPECT_EQ(stored.conversation_size(), session.conversation_size());
  EXPECT_EQ(stored.status(), "active");
}

TEST_F(AuthTest, TokensFromAnotherLoginAreVerifiedWithItsPublicKey) {
  const std::string es256 =
      key_->SignJwt(R"({"alg":"ES256","typ":"JWT"})", Payload("agent-es", "agent"));
  HttpResponse started =
      As(es256, "POST", "/ai/call/start", absl::StrCat(R"({"phoneNumber":")", kDilshod, R"("})"));
  ASSERT_EQ(started.status, 200) << started;
  Session session;
  ASSERT_THAT(ParseJsonMessage(started.body, &session), IsOk());
  EXPECT_EQ(session.agent_id(), "agent-es");
  // Signed by a key that is not configured, or labelled with an algorithm that is not: refused.
  EXPECT_EQ(As(TestKeyPair::EcP256().SignJwt(R"({"alg":"ES256"})", Payload("agent-es", "agent")),
               "GET", "/ai/sessions/" + session.session_id())
                .status,
            401);
  EXPECT_EQ(As(TestKeyPair::Rsa().SignJwt(R"({"alg":"RS256"})", Payload("agent-es", "agent")),
               "GET", "/ai/sessions/" + session.session_id())
                .status,
            401);
  // The public key's PEM as an HS256 secret (the algorithm-confusion attack): refused.
  const std::string confused =
      SignJwtHs256(R"({"alg":"HS256"})", Payload("agent-es", "supervisor"), key_->PublicKeyPem());
  EXPECT_EQ(As(confused, "GET", "/ai/sessions/" + session.session_id()).status, 401);
}

TEST_F(AuthTest, TheDevLoginGivesTheConsoleAWorkingToken) {
  HttpResponse login = HttpRequest("POST", suite().base_url() + "/api/auth/dev-login",
                                   R"({"agentId":"agent-1","role":"agent"})");
  ASSERT_EQ(login.status, 200) << login;
  absl::StatusOr<google::protobuf::Value> body = ParseJson(login.body);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(JsonString(*body, {"agentId"}), "agent-1");
  EXPECT_EQ(JsonString(*body, {"role"}), "agent");
  EXPECT_THAT(JsonString(*body, {"expiresAt"}), Not(::testing::IsEmpty()));
  const std::string token = JsonString(*body, {"token"});

  // What the agent creates is its own: another agent cannot read or control it.
  HttpResponse placed = As(token, "POST", "/api/voip/call",
                           absl::StrCat(R"({"to":")", kDilshod, R"(","text":"Salom"})"));
  ASSERT_EQ(placed.status, 200) << placed;
  Call call;
  ASSERT_THAT(ParseJsonMessage(placed.body, &call), IsOk());
  EXPECT_EQ(call.agent_identity(), "agent_2D1");  // The Twilio client identity of agent-1.
  EXPECT_EQ(As(token, "GET", "/api/calls/" + call.call_sid()).status, 200);
  ExpectErrorResponse(
      As(Hs256("agent-2", "agent"), "POST", "/api/calls/" + call.call_sid() + "/hangup"), 403,
      "PERMISSION_DENIED");
  EXPECT_EQ(As(Hs256("boss", "supervisor"), "GET", "/api/calls/" + call.call_sid()).status, 200);

  // Nor can an agent start a session on another agent's behalf.
  ExpectErrorResponse(
      As(token, "POST", "/ai/call/start",
         absl::StrCat(R"({"phoneNumber":")", kDilshod, R"(","agentId":"agent-2"})")),
      403, "PERMISSION_DENIED");
  HttpResponse own = As(token, "POST", "/ai/call/start",
                        absl::StrCat(R"({"phoneNumber":")", kDilshod, R"(","agentId":"agent-1"})"));
  EXPECT_EQ(own.status, 200) << own;
  // Bad agent ids never become identities.
  EXPECT_EQ(HttpRequest("POST", suite().base_url() + "/api/auth/dev-login",
                        R"({"agentId":"client:agent-1"})")
                .status,
            400);
}

TEST_F(AuthTest, CorsPreflightFromThePageAndNothingForOtherOrigins) {
  HttpResponse allowed =
      HttpRequest("OPTIONS", suite().base_url() + "/api/voip/call", "",
                  {{"Origin", kOrigin},
                   {"Access-Control-Request-Method", "POST"},
                   {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(allowed.status, 204) << allowed;
  EXPECT_EQ(allowed.headers["access-control-allow-origin"], kOrigin);
  EXPECT_THAT(allowed.headers["access-control-allow-headers"], HasSubstr("Authorization"));
  EXPECT_EQ(allowed.headers.count("access-control-allow-credentials"), 0u);

  HttpResponse denied = HttpRequest(
      "OPTIONS", suite().base_url() + "/api/voip/call", "",
      {{"Origin", "https://evil.example.net"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(denied.status, 403) << denied;
  EXPECT_EQ(denied.headers.count("access-control-allow-origin"), 0u);

  HttpResponse read =
      HttpRequest("GET", suite().base_url() + "/api/customers/%2B998901112233", "",
                  {{"Origin", kOrigin}, {"Authorization", Bearer(Hs256("agent-1", "agent"))}});
  EXPECT_EQ(read.status, 200) << read;
  EXPECT_EQ(read.headers["access-control-allow-origin"], kOrigin);
  HttpResponse other = HttpRequest("GET", suite().base_url() + "/api/customers/%2B998901112233", "",
                                   {{"Origin", "https://evil.example.net"},
                                    {"Authorization", Bearer(Hs256("agent-1", "agent"))}});
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
}

// The services let in only peers with a key they know, and believe identity metadata only from
// those; health checks stay open for probes.
TEST_F(AuthTest, GrpcCallersNeedAnApiKey) {
  struct Caller {
    std::string name;
    std::string key;  // Empty: none sent.
  };
  for (const Caller& caller :
       {Caller{"no key", ""}, Caller{"wrong key", "a-key-nobody-knows-42"}}) {
    SCOPED_TRACE(caller.name);
    auto context_for = [&](grpc::ClientContext* context) {
      context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      if (!caller.key.empty()) context->AddMetadata("x-api-key", caller.key);
      // Claiming to be a supervisor changes nothing without a key.
      context->AddMetadata("x-livecall-agent", "mallory");
      context->AddMetadata("x-livecall-role", "supervisor");
    };
    {
      auto stub = livecall::v1::AiSession::NewStub(grpc::CreateChannel(
          suite().grpc_address(Service::kAiSession), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context_for(&context);
      livecall::v1::StartSessionRequest request;
      request.set_phone_number(kDilshod);
      Session session;
      EXPECT_EQ(stub->StartSession(&context, request, &session).error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
    }
    {
      auto stub = livecall::v1::CallControl::NewStub(grpc::CreateChannel(
          suite().grpc_address(Service::kCallControl), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context_for(&context);
      livecall::v1::PlaceCallRequest request;
      request.set_to(kDilshod);
      request.set_text("Salom");
      Call call;
      EXPECT_EQ(stub->PlaceCall(&context, request, &call).error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
    }
    {
      auto stub = livecall::v1::Context::NewStub(grpc::CreateChannel(
          suite().grpc_address(Service::kContext), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context_for(&context);
      livecall::v1::LookupCustomerRequest request;
      request.set_phone_number(kDilshod);
      livecall::v1::Customer customer;
      EXPECT_EQ(stub->LookupCustomer(&context, request, &customer).error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
      grpc::ClientContext watch_context;
      context_for(&watch_context);
      livecall::v1::WatchEventsRequest watch;
      watch.set_session_id("S1");
      auto reader = stub->WatchSessionEvents(&watch_context, watch);
      livecall::v1::LiveEventEnvelope envelope;
      EXPECT_FALSE(reader->Read(&envelope));
      EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
    }
  }
  // Health checks need no key.
  for (Service service : kGrpcServices) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(suite().grpc_address(service), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(stub->Check(&context, {}, &response).ok()) << ServiceName(service);
  }
  // With a known key, an agent's identity is believed and ownership applies.
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartAs("agent-grpc", &session));
  auto stub = livecall::v1::AiSession::NewStub(suite().GrpcChannel(Service::kAiSession));
  livecall::v1::GetAiSessionRequest get;
  get.set_session_id(session.session_id());
  for (const auto& [agent, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"agent-grpc", grpc::StatusCode::OK},
           {"agent-else", grpc::StatusCode::PERMISSION_DENIED}}) {
    grpc::ClientContext context;
    context.AddMetadata("x-livecall-agent", agent);
    context.AddMetadata("x-livecall-role", "agent");
    Session got;
    EXPECT_EQ(stub->GetSession(&context, get, &got).error_code(), code) << agent;
  }
}

// Whatever came in — tokens good and bad, Twilio signatures, API keys — no process writes it down.
TEST_F(AuthTest, LogsNeverCarryCredentials) {
  const std::string good = Hs256("agent-log", "agent");
  const std::string bad = Hs256("agent-log", "agent", "some-other-secret-0123456789abcdef");
  EXPECT_EQ(As(good, "GET", "/api/calls/CA00000000000000000000000000000000").status, 404);
  EXPECT_EQ(As(bad, "GET", "/api/calls/CA00000000000000000000000000000000").status, 401);
  // An unknown query parameter on a session that does not exist: 404 first (README "Order of
  // checks"); the token in the query must not be logged either way.
  EXPECT_EQ(As(good, "GET", "/ai/sessions/missing?x=" + good).status, 404);
  const std::string signature = "c2lnbmF0dXJlLXRoYXQtaXMtbm90LXZhbGlk";
  EXPECT_EQ(HttpRequest("POST", suite().base_url() + "/twilio/status", "CallSid=CA1",
                        {{"Content-Type", "application/x-www-form-urlencoded"},
                         {"X-Twilio-Signature", signature}})
                .status,
            403);
  {
    auto stub = livecall::v1::Context::NewStub(grpc::CreateChannel(
        suite().grpc_address(Service::kContext), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("x-api-key", "a-guessed-api-key-1234567890");
    livecall::v1::LookupCustomerRequest request;
    request.set_phone_number(kDilshod);
    livecall::v1::Customer customer;
    EXPECT_FALSE(stub->LookupCustomer(&context, request, &customer).ok());
  }
  std::string logs;
  EXPECT_TRUE(WaitFor(
      [&] {
        logs.clear();
        for (const char* name : {"gateway", "call-control", "ai-session", "context"}) {
          absl::StrAppend(&logs,
                          ReadFileOrEmpty(absl::StrCat(suite().log_dir(), "/", name, ".log")));
        }
        return absl::StrContains(logs, "\"request_id\"");
      },
      absl::Seconds(5)));
  ASSERT_THAT(logs, HasSubstr("\"msg\":\"request\""));  // The logs are really there.
  std::vector<std::string> secrets = {good,
                                      bad,
                                      good.substr(good.rfind('.') + 1),
                                      signature,
                                      kTestJwtSecret,
                                      kTestGrpcApiKey,
                                      "a-guessed-api-key-1234567890"};
  for (Service service : kAllServices) secrets.push_back(ServiceApiKey(service));
  for (const std::string& secret : secrets) {
    EXPECT_THAT(logs, Not(HasSubstr(secret))) << "a credential is in the logs: " << secret;
  }
  EXPECT_THAT(logs, Not(HasSubstr("Bearer ey")));
}

// Per verified agent, and per address for everything else, with RS256 tokens from another login
// only (no HS256 secret).
class RateLimitTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    key_ = new TestKeyPair(TestKeyPair::Rsa());
    SuiteOptions options = IntegrationSuiteOptions();
    options.extra_env["LIVECALL_JWT_SECRET"] = "";
    options.extra_env["LIVECALL_JWT_PUBLIC_KEY_FILE"] =
        WriteTempFile("login.pem", key_->PublicKeyPem());
    options.extra_env["LIVECALL_RATE_LIMIT_AGENT_RPS"] = "1";
    options.extra_env["LIVECALL_RATE_LIMIT_AGENT_BURST"] = "3";
    options.extra_env["LIVECALL_RATE_LIMIT_IP_RPS"] = "1";
    options.extra_env["LIVECALL_RATE_LIMIT_IP_BURST"] = "6";
    StartSuite(options);
  }
  static void TearDownTestSuite() {
    StopSuite();
    delete key_;
  }
  static std::string Rs256(const std::string& agent) {
    return key_->SignJwt(R"({"alg":"RS256","typ":"JWT"})", Payload(agent, "agent"));
  }
  static inline TestKeyPair* key_ = nullptr;
};

TEST_F(RateLimitTest, AnAgentOverItsRateAndAnAddressWithoutTokensGet429WithRetryAfter) {
  const std::string path = "/api/customers/%2B998901112233";
  const std::map<std::string, std::string> alice = {{"Authorization", Bearer(Rs256("alice"))}};
  // HS256 tokens mean nothing here: only the configured RS256 key verifies.
  EXPECT_EQ(HttpRequest("GET", suite().base_url() + path, "",
                        {{"Authorization", Bearer(Hs256("alice", "agent"))}})
                .status,
            401);
  int ok = 0;
  HttpResponse limited;
  for (int i = 0; i < 6 && limited.status != 429; ++i) {
    HttpResponse response = HttpRequest("GET", suite().base_url() + path, "", alice);
    if (response.status == 200) ++ok;
    if (response.status == 429) limited = response;
  }
  ASSERT_EQ(limited.status, 429) << "alice was never limited";
  EXPECT_LE(ok, 4);  // Her burst of 3, and at most one token refilled meanwhile.
  ExpectErrorResponse(limited, 429, "RESOURCE_EXHAUSTED");
  int retry_after = 0;
  ASSERT_TRUE(absl::SimpleAtoi(limited.headers["retry-after"], &retry_after)) << limited;
  EXPECT_GE(retry_after, 1);
  EXPECT_THAT(limited.body, HasSubstr("agent"));
  // Other agents from the same address (an office NAT) have buckets of their own.
  for (int i = 0; i < 8; ++i) {
    HttpResponse other = HttpRequest("GET", suite().base_url() + path, "",
                                     {{"Authorization", Bearer(Rs256(absl::StrCat("agent-", i)))}});
    EXPECT_EQ(other.status, 200) << other;
  }
  // Requests without a verified token spend the address's bucket (6), then get 429.
  HttpResponse address;
  for (int i = 0; i < 12 && address.status != 429; ++i) {
    address = HttpRequest("GET", suite().base_url() + path, "",
                          {{"Authorization", Bearer(Hs256("mallory", "agent"))}});
    if (address.status != 429) {
      EXPECT_EQ(address.status, 401) << address;
    }
  }
  ASSERT_EQ(address.status, 429) << address;
  EXPECT_THAT(address.body, HasSubstr("address"));
  EXPECT_FALSE(address.headers["retry-after"].empty());
  // ... while a verified agent from that address still gets through.
  EXPECT_EQ(HttpRequest("GET", suite().base_url() + path, "",
                        {{"Authorization", Bearer(Rs256("agent-late"))}})
                .status,
            200);
  // Probes are never limited.
  EXPECT_EQ(HttpRequest("GET", suite().base_url() + "/healthz").status, 200);
}

// The cap on concurrent outbound calls is global: kept in Redis by call-control.
class OutboundCapTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options = IntegrationSuiteOptions();
    options.sandbox_talk = absl::Seconds(60);
    options.extra_env["LIVECALL_MAX_ACTIVE_CALLS"] = "2";
    StartSuite(options);
  }
  static void TearDownTestSuite() { StopSuite(); }
};

TEST_F(OutboundCapTest, TheCapAnswers429UntilACallEnds) {
  const std::string body = absl::StrCat(R"({"to":")", kDilshod, R"(","text":"Salom"})");
  Call first;
  Call second;
  ASSERT_NO_FATAL_FAILURE(PlaceCall(kDilshod, "Salom", &first));
  ASSERT_NO_FATAL_FAILURE(PlaceCall(kDilshod, "Salom", &second));
  HttpResponse third = Post("/api/voip/call", body);
  ExpectErrorResponse(third, 429, "RESOURCE_EXHAUSTED");
  EXPECT_THAT(third.body, HasSubstr("LIVECALL_MAX_ACTIVE_CALLS"));
  EXPECT_FALSE(third.headers["retry-after"].empty()) << third;

  // Once a call has ended its slot is free again.
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResponse got = Get("/api/calls/" + first.call_sid());
        return absl::StrContains(got.body, "\"status\":\"in-progress\"");
      },
      absl::Seconds(10)));
  HttpResponse hangup = Post("/api/calls/" + first.call_sid() + "/hangup", "");
  ASSERT_EQ(hangup.status, 200) << hangup;
  HttpResponse again = Post("/api/voip/call", body);
  EXPECT_EQ(again.status, 200) << again;
}

// A production-like gateway: the dev login off, tokens' audience, issuer and lifetime required.
class TokenPolicyTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options = IntegrationSuiteOptions();
    options.extra_env["LIVECALL_DEV_LOGIN"] = "off";
    options.extra_env["LIVECALL_JWT_AUDIENCE"] = "livecall-api";
    options.extra_env["LIVECALL_JWT_ISSUER"] = "https://login.example.com";
    options.extra_env["LIVECALL_JWT_MAX_LIFETIME_S"] = "7200";
    StartSuite(options);
  }
  static void TearDownTestSuite() { StopSuite(); }
};

TEST_F(TokenPolicyTest, OnlyTokensForThisApiFromItsIssuerAndShortLivedAreAccepted) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto token = [now](const std::string& claims, int64_t lifetime_s) {
    return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                        absl::StrCat(R"({"sub":"agent-1",)", claims, R"("iat":)", now, R"(,"exp":)",
                                     now + lifetime_s, "}"),
                        kTestJwtSecret);
  };
  auto get_as = [](const std::string& token) {
    return HttpRequest("GET", suite().base_url() + "/api/customers/%2B998901112233", "",
                       {{"Authorization", Bearer(token)}});
  };
  const std::string good = R"("aud":"livecall-api","iss":"https://login.example.com",)";
  EXPECT_EQ(get_as(token(good, 3600)).status, 200);
  for (const std::string& bad : {
           token(good, 3 * 3600),                                               // too long
           token(R"("iss":"https://login.example.com",)", 3600),                // no aud
           token(R"("aud":"livecall-api",)", 3600),                             // no iss
           token(R"("aud":"livecall-api","iss":"livecall-dev-login",)", 3600),  // a dev-login one
       }) {
    HttpResponse refused = get_as(bad);
    ExpectErrorResponse(refused, 401, "UNAUTHENTICATED");
    EXPECT_THAT(refused.body, HasSubstr("\"requestId\":")) << refused;
  }
  // No dev login to mint one either.
  EXPECT_EQ(Post("/api/auth/dev-login", R"({"agentId":"agent-1"})").status, 404);
}

}  // namespace
}  // namespace livecall::testing
