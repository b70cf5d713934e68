#include "services/context/context_service.h"

#include <google/protobuf/text_format.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.grpc.pb.h"
#include "tests/support/metrics_text.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"

namespace livecall::context {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class ContextLookupTest : public ::testing::Test {
 protected:
  ContextLookupTest() {
    livecall::v1::CustomerRecordList list;
    google::protobuf::TextFormat::ParseFromString(
        R"pb(records { phone: "+998901112233" name: "Dilshod Karimov" language: "uz" })pb", &list);
    directory_ = *CustomerDirectory::FromRecords(list);
  }

  CustomerDirectory directory_;
  DirectorySource source_{directory_};
  // Lookups never touch Redis or the executor; the pool is never connected.
  RedisPool redis_{RedisPool::Options{}};
  SessionStore sessions_{redis_, absl::Hours(1)};
  QueuedUnaryMethods unary_{{.threads = 1}};
  ContextService service_{source_, sessions_, unary_};
};

TEST_F(ContextLookupTest, KnownCustomerIsFoundFromAnySpelling) {
  for (const char* spelling : {"+998901112233", "90 111 22 33", "+998 90 111-22-33"}) {
    absl::StatusOr<livecall::v1::Customer> customer = service_.Lookup(spelling);
    ASSERT_THAT(customer.status(), IsOk());
    EXPECT_EQ(customer->name(), "Dilshod Karimov") << spelling;
    EXPECT_TRUE(customer->known());
  }
}

TEST_F(ContextLookupTest, UnknownCallerIsAnEmptyContextInTheCountrysLanguage) {
  absl::StatusOr<livecall::v1::Customer> customer = service_.Lookup("+998 71 234 56 78");
  ASSERT_THAT(customer.status(), IsOk());
  EXPECT_FALSE(customer->known());
  EXPECT_EQ(customer->source(), "none");
  EXPECT_EQ(customer->phone_number(), "+998712345678");
  EXPECT_EQ(customer->language(), "uz");
  EXPECT_EQ(service_.Lookup("+7 495 123 45 67")->language(), "ru");
  EXPECT_EQ(service_.Lookup("+44 20 7946 0958")->language(), "en");
}

TEST_F(ContextLookupTest, InvalidNumberIsInvalidArgument) {
  EXPECT_THAT(service_.Lookup("not a phone"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_.Lookup(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

// LookupCustomer over a real gRPC server, served from a completion queue beside the event
// watches, which stream from the same queues.
TEST_F(ContextLookupTest, LookupCustomerIsAnsweredOverGrpc) {
  QueuedUnaryMethods unary({.threads = 1, .work = QueuedWork::kMayBlock});
  ContextService service(source_, sessions_, unary);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  unary.AddTo(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  unary.Start();
  std::unique_ptr<livecall::v1::Context::Stub> stub =
      livecall::v1::Context::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  auto lookup = [&stub](const std::string& phone) -> absl::StatusOr<livecall::v1::Customer> {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    livecall::v1::LookupCustomerRequest request;
    request.set_phone_number(phone);
    livecall::v1::Customer customer;
    if (grpc::Status status = stub->LookupCustomer(&context, request, &customer); !status.ok()) {
      return ToAbslStatus(status);
    }
    return customer;
  };
  absl::StatusOr<livecall::v1::Customer> known = lookup("90 111 22 33");
  ASSERT_THAT(known.status(), IsOk());
  EXPECT_EQ(known->name(), "Dilshod Karimov");
  EXPECT_THAT(lookup("not a phone"), StatusIs(absl::StatusCode::kInvalidArgument));
  // Live events are off without a hub: the watch answers at once.
  grpc::ClientContext watch_context;
  livecall::v1::WatchEventsRequest watch;
  watch.set_session_id("s-1");
  std::unique_ptr<grpc::ClientReader<livecall::v1::LiveEventEnvelope>> reader =
      stub->WatchSessionEvents(&watch_context, watch);
  livecall::v1::LiveEventEnvelope envelope;
  EXPECT_FALSE(reader->Read(&envelope));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  server->Shutdown();
  unary.Stop();
}

// GET /api/customers/{phone}/conversations (ListSessions) and GetSession, through a real gRPC
// server on real Redis, with the identity metadata the gateway sends for an agent or supervisor.
class ConversationAccessTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    sessions_ = std::make_unique<SessionStore>(*redis_, absl::Hours(1));
    service_ = std::make_unique<ContextService>(source_, *sessions_, unary_);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    unary_.AddTo(builder);
    server_ = builder.BuildAndStart();
    unary_.Start();
    stub_ = livecall::v1::Context::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    unary_.Stop();
  }

  // An ended conversation of `agent` ("" for nobody's) with Dilshod.
  std::string Conversation(const std::string& agent, const std::string& said) {
    livecall::v1::Session session;
    session.set_phone_number(kPhone);
    session.set_agent_id(agent);
    session.set_greeting("Assalomu alaykum");
    livecall::v1::Turn* turn = session.add_conversation();
    turn->set_speaker("customer");
    turn->set_text(said);
    absl::StatusOr<livecall::v1::Session> created = sessions_->Create(session, absl::Now());
    EXPECT_THAT(created.status(), IsOk());
    livecall::v1::Summary summary;
    summary.set_text("about " + said);
    EXPECT_THAT(
        sessions_->End(created->session_id(), summary, "resolved", nullptr, absl::Now()).status(),
        IsOk());
    return created->session_id();
  }

  void ActAs(grpc::ClientContext& context, const std::string& agent, const std::string& role) {
    context.AddMetadata("x-livecall-agent", agent);
    context.AddMetadata("x-livecall-role", role);
    context.AddMetadata("x-request-id", "req-" + agent);
  }

  // The customer's conversations as `agent` with `role`, by session id.
  std::map<std::string, livecall::v1::Session> List(const std::string& agent,
                                                    const std::string& role) {
    grpc::ClientContext context;
    ActAs(context, agent, role);
    livecall::v1::ListSessionsRequest request;
    request.set_phone_number("90 111 22 33");
    livecall::v1::ListSessionsResponse response;
    const grpc::Status status = stub_->ListSessions(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::map<std::string, livecall::v1::Session> by_id;
    for (const livecall::v1::Session& session : response.sessions()) {
      by_id[session.session_id()] = session;
    }
    return by_id;
  }

  static double AuditedReads(const std::string& role) {
    return livecall::testing::MetricValue(
        SerializeMetrics(), "livecall_conversation_reads_audited_total{role=\"" + role + "\"}");
  }

  // The audit lines in captured log output.
  static std::vector<std::string> AuditLines(const std::string& log) {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      if (absl::StrContains(line, R"("audit":"conversation.read")")) {
        lines.emplace_back(line);
      }
    }
    return lines;
  }

  static constexpr char kPhone[] = "+998901112233";
  std::unique_ptr<SessionStore> sessions_;
  CustomerDirectory directory_;
  DirectorySource source_{directory_};
  QueuedUnaryMethods unary_{{.threads = 2}};
  std::unique_ptr<ContextService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<livecall::v1::Context::Stub> stub_;
};

TEST_F(ConversationAccessTest, AnAgentSeesItsOwnConversationsWholeAndOthersOnlyAsHeaders) {
  const std::string mine = Conversation("agent-a", "internetim ishlamayapti");
  const std::string theirs = Conversation("agent-b", "kartam bloklandi");
  const std::string nobodys = Conversation("", "operator kerak");
  const double audited_before = AuditedReads("agent");

  ::testing::internal::CaptureStderr();
  std::map<std::string, livecall::v1::Session> listed = List("agent-a", "agent");
  const std::string log = ::testing::internal::GetCapturedStderr();

  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[mine].conversation(0).text(), "internetim ishlamayapti");
  EXPECT_EQ(listed[mine].summary().text(), "about internetim ishlamayapti");
  EXPECT_EQ(listed[mine].greeting(), "Assalomu alaykum");
  for (const std::string& other : {theirs, nobodys}) {
    SCOPED_TRACE(other);
    const livecall::v1::Session& header = listed[other];
    // That it happened, when, with whom and how it ended...
    EXPECT_EQ(header.status(), "ended");
    EXPECT_EQ(header.disposition(), "resolved");
    EXPECT_EQ(header.phone_number(), kPhone);
    EXPECT_TRUE(header.has_created_at());
    EXPECT_TRUE(header.has_ended_at());
    // ...but nothing of what was said.
    EXPECT_EQ(header.conversation_size(), 0);
    EXPECT_EQ(header.suggestions_size(), 0);
    EXPECT_FALSE(header.has_summary());
    EXPECT_EQ(header.greeting(), "");
  }
  EXPECT_EQ(listed[theirs].agent_id(), "agent-b");
  EXPECT_EQ(listed[nobodys].agent_id(), "");
  EXPECT_THAT(listed[theirs].DebugString(), Not(HasSubstr("kartam")));
  // An agent reading its own is no audit event; headers are no transcript read.
  EXPECT_THAT(AuditLines(log), ::testing::IsEmpty()) << log;
  EXPECT_EQ(AuditedReads("agent"), audited_before);

  // The same as GetSession: the other agent's transcript stays refused.
  grpc::ClientContext context;
  ActAs(context, "agent-a", "agent");
  livecall::v1::GetSessionRequest get;
  get.set_session_id(theirs);
  livecall::v1::Session session;
  EXPECT_EQ(stub_->GetSession(&context, get, &session).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ConversationAccessTest, ASupervisorSeesEveryConversationAndEachReadOfAnotherIsAudited) {
  const std::string by_a = Conversation("agent-a", "internetim ishlamayapti");
  const std::string by_b = Conversation("agent-b", "kartam bloklandi");
  const std::string own = Conversation("boss", "rahbar bilan gaplashmoqchiman");
  const double audited_before = AuditedReads("supervisor");

  ::testing::internal::CaptureStderr();
  std::map<std::string, livecall::v1::Session> listed = List("boss", "supervisor");
  const std::string log = ::testing::internal::GetCapturedStderr();

  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[by_a].conversation(0).text(), "internetim ishlamayapti");
  EXPECT_EQ(listed[by_b].conversation(0).text(), "kartam bloklandi");
  EXPECT_EQ(listed[by_b].summary().text(), "about kartam bloklandi");
  // One audit event per other agent's conversation, none for the supervisor's own.
  const std::vector<std::string> audits = AuditLines(log);
  ASSERT_EQ(audits.size(), 2u) << log;
  for (const auto& [session_id, owner] :
       std::vector<std::pair<std::string, std::string>>{{by_a, "agent-a"}, {by_b, "agent-b"}}) {
    SCOPED_TRACE(session_id);
    const auto line = std::find_if(audits.begin(), audits.end(), [&](const std::string& l) {
      return absl::StrContains(l, absl::StrCat(R"("session_id":")", session_id, R"(")"));
    });
    ASSERT_NE(line, audits.end()) << log;
    EXPECT_THAT(*line, HasSubstr(R"("reader":"boss")"));
    EXPECT_THAT(*line, HasSubstr(R"("reader_role":"supervisor")"));
    EXPECT_THAT(*line, HasSubstr(absl::StrCat(R"("owner":")", owner, R"(")")));
    EXPECT_THAT(*line, HasSubstr(R"("request_id":"req-boss")"));
  }
  EXPECT_EQ(AuditedReads("supervisor"), audited_before + 2);

  // GetSession of another agent's conversation is a read too.
  grpc::ClientContext context;
  ActAs(context, "boss", "supervisor");
  livecall::v1::GetSessionRequest get;
  get.set_session_id(by_a);
  livecall::v1::Session session;
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(stub_->GetSession(&context, get, &session).ok());
  const std::string get_log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(session.conversation(0).text(), "internetim ishlamayapti");
  ASSERT_EQ(AuditLines(get_log).size(), 1u) << get_log;
  EXPECT_THAT(AuditLines(get_log)[0], HasSubstr(R"("rpc":"GetSession")"));
  EXPECT_EQ(AuditedReads("supervisor"), audited_before + 3);
}

TEST_F(ConversationAccessTest, AServiceActingForItselfReadsEverythingUnaudited) {
  Conversation("agent-a", "salom");
  const double audited_before = AuditedReads("service");
  grpc::ClientContext context;  // No identity: the peer acts for itself.
  livecall::v1::ListSessionsRequest request;
  request.set_phone_number(kPhone);
  livecall::v1::ListSessionsResponse response;
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(stub_->ListSessions(&context, request, &response).ok());
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(response.sessions_size(), 1);
  EXPECT_EQ(response.sessions(0).conversation(0).text(), "salom");
  EXPECT_THAT(AuditLines(log), ::testing::IsEmpty()) << log;
  EXPECT_EQ(AuditedReads("service"), audited_before);
}

// The version a call's answer carried in its trailing metadata ("" when none).
std::string VersionSent(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto found = trailers.find(kSessionVersionMetadata);
  if (found == trailers.end()) return "";
  return std::string(found->second.data(), found->second.size());
}

TEST_F(ConversationAccessTest, SessionAnswersCarryTheVersionAndAnAppendMayExpectOne) {
  livecall::v1::CreateSessionRequest create;
  create.mutable_session()->set_phone_number("90 111 22 33");
  livecall::v1::Session created;
  grpc::ClientContext create_context;
  ASSERT_TRUE(stub_->CreateSession(&create_context, create, &created).ok());
  EXPECT_EQ(VersionSent(create_context), "1");

  livecall::v1::AppendTurnRequest append;
  append.set_session_id(created.session_id());
  append.mutable_turn()->set_speaker("customer");
  append.mutable_turn()->set_text("internet yo'q");
  append.set_expected_version(1);
  livecall::v1::AppendTurnResponse appended;
  grpc::ClientContext append_context;
  ASSERT_TRUE(stub_->AppendTurn(&append_context, append, &appended).ok());
  EXPECT_EQ(appended.turn_count(), 1);
  EXPECT_EQ(appended.version(), 2);

  // The same append expecting 1 again: refused, with why.
  grpc::ClientContext stale_context;
  const grpc::Status stale = stub_->AppendTurn(&stale_context, append, &appended);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(stale.error_message(), HasSubstr("is at version 2, not the expected 1"));
  append.set_expected_version(-5);
  grpc::ClientContext negative_context;
  EXPECT_EQ(stub_->AppendTurn(&negative_context, append, &appended).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  livecall::v1::AssignSessionRequest assign;
  assign.set_session_id(created.session_id());
  assign.set_agent_id("agent-a");
  livecall::v1::Session assigned;
  grpc::ClientContext assign_context;
  ASSERT_TRUE(stub_->AssignSession(&assign_context, assign, &assigned).ok());
  EXPECT_EQ(VersionSent(assign_context), "3");

  livecall::v1::GetSessionRequest get;
  get.set_session_id(created.session_id());
  livecall::v1::Session read;
  grpc::ClientContext get_context;
  ASSERT_TRUE(stub_->GetSession(&get_context, get, &read).ok());
  EXPECT_EQ(VersionSent(get_context), "3");
  EXPECT_EQ(read.conversation_size(), 1);
  // An error carries none.
  get.set_session_id("ses_0123456789abcdef0123456789abcdef");
  grpc::ClientContext missing_context;
  EXPECT_EQ(stub_->GetSession(&missing_context, get, &read).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(VersionSent(missing_context), "");
}

}  // namespace
}  // namespace livecall::context
