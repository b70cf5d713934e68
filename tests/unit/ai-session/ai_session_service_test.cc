#include "services/ai-session/ai_session_service.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/default_data_dir.h"
#include "common/live_events.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ai-session/suggestion_engine.h"
#include "services/call-control/call_control_service.h"
#include "services/call-control/sandbox/sandbox_provider.h"
#include "services/call-control/twilio/voice_token.h"
#include "services/context/context_service.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/proto_matchers.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"
#include "tests/unit/ai-session/llm_test_util.h"

namespace livecall::ai_session {
namespace {

using ::livecall::testing::EqualsProto;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Property;
using ::testing::StartsWith;

// ai-session against a real context service (in-process gRPC) backed by a real Redis.
class AiSessionServiceTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    absl::StatusOr<context::CustomerDirectory> directory =
        context::CustomerDirectory::Load(LIVECALL_DEFAULT_DATA_DIR "/customers.json");
    ASSERT_THAT(directory.status(), IsOk());
    directory_ = std::make_unique<context::CustomerDirectory>(*std::move(directory));
    sessions_ = std::make_unique<context::SessionStore>(*redis_, absl::Hours(1));
    source_ = std::make_unique<context::DirectorySource>(*directory_);
    context_service_ =
        std::make_unique<context::ContextService>(*source_, *sessions_, context_unary_);
    // call-control as the real one answers GetCall (its call store on the same Redis; the
    // sandbox provider is never asked to dial).
    call_store_ = std::make_unique<call_control::CallStore>(*redis_, absl::Hours(1));
    sandbox_ = std::make_unique<call_control::SandboxProvider>(
        *call_store_, call_control::SandboxTimings{}, say_);
    call_control_ = std::make_unique<call_control::CallControlService>(
        *sandbox_, *call_store_, context_unary_, "+998712000000");
    grpc::ServerBuilder builder;
    builder.RegisterService(context_service_.get());
    builder.RegisterService(call_control_.get());
    context_unary_.AddTo(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    context_unary_.Start();
    stub_ = livecall::v1::Context::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    calls_stub_ =
        livecall::v1::CallControl::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    absl::StatusOr<KnowledgeBase> kb = KnowledgeBase::Load(LIVECALL_DEFAULT_DATA_DIR "/kb.json");
    ASSERT_THAT(kb.status(), IsOk());
    kb_ = std::make_unique<KnowledgeBase>(*std::move(kb));
    service_ = std::make_unique<AiSessionService>(*stub_, *kb_, /*llm=*/nullptr, executor_, Unary(),
                                                  AiEngineOptions{});
  }

  // A service that asks `llm` first. The scripted LLMs answer at once, so the deadline only
  // needs to outlast a loaded machine's scheduling; tests of the deadline pass a short one.
  std::unique_ptr<AiSessionService> ServiceWithLlm(LlmClient* llm,
                                                   absl::Duration deadline = absl::Seconds(3)) {
    AiEngineOptions options;
    options.llm_suggestion_deadline = deadline;
    options.llm_greeting_deadline = deadline;
    options.llm_summary_deadline = deadline;
    return std::make_unique<AiSessionService>(*stub_, *kb_, llm, executor_, Unary(), options);
  }

  // A new set of queued methods for one AiSessionService (a server serves one set); the fixture
  // keeps it until the test's servers are gone. LastUnary() is the newest.
  QueuedUnaryMethods& Unary() {
    return *unaries_.emplace_back(std::make_unique<QueuedUnaryMethods>(QueuedUnaryOptions{
        .threads = 1, .work = QueuedWork::kNeverBlocks, .watch_cancellation = true}));
  }
  QueuedUnaryMethods& LastUnary() { return *unaries_.back(); }

  livecall::v1::AddTurnRequest Turn(const std::string& session_id, const std::string& speaker,
                                    const std::string& text) {
    livecall::v1::AddTurnRequest request;
    request.set_session_id(session_id);
    request.set_speaker(speaker);
    request.set_text(text);
    return request;
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    context_unary_.Stop();
  }

  livecall::v1::StartSessionRequest Request(const std::string& phone) {
    livecall::v1::StartSessionRequest request;
    request.set_phone_number(phone);
    return request;
  }

  std::unique_ptr<context::CustomerDirectory> directory_;
  std::unique_ptr<context::SessionStore> sessions_;
  std::unique_ptr<context::DirectorySource> source_;
  // The queued methods of the server of context and call-control.
  QueuedUnaryMethods context_unary_{{.threads = 2}};
  std::vector<std::unique_ptr<QueuedUnaryMethods>> unaries_;
  Executor executor_{2};
  std::unique_ptr<context::ContextService> context_service_;
  call_control::SayRenderer say_;
  std::unique_ptr<call_control::CallStore> call_store_;
  std::unique_ptr<call_control::SandboxProvider> sandbox_;
  std::unique_ptr<call_control::CallControlService> call_control_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<livecall::v1::Context::Stub> stub_;
  std::unique_ptr<livecall::v1::CallControl::Stub> calls_stub_;
  std::unique_ptr<KnowledgeBase> kb_;
  std::unique_ptr<AiSessionService> service_;
  // The session a test's LLM acts on.
  std::string current_session_;
};

TEST_F(AiSessionServiceTest, KnownCustomerGetsAPersonalGreetingAndIssueSuggestions) {
  livecall::v1::StartSessionRequest request = Request("90 111 22 33");
  request.set_call_sid("CA0123456789abcdef0123456789abcdef");
  request.set_agent_id("agent_7");
  absl::StatusOr<livecall::v1::Session> session = service_->Start(request);
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_EQ(session->phone_number(), "+998901112233");
  EXPECT_EQ(session->language(), "uz");
  EXPECT_EQ(session->customer().name(), "Dilshod Karimov");
  EXPECT_THAT(session->greeting(), StartsWith("Assalomu alaykum, Dilshod!"));
  EXPECT_EQ(session->call_sid(), "CA0123456789abcdef0123456789abcdef");
  EXPECT_EQ(session->agent_id(), "agent_7");
  EXPECT_EQ(session->direction(), "outbound");
  EXPECT_THAT(session->suggestions(),
              Contains(Property(&livecall::v1::Suggestion::source, "internet-outage-uz")));
  EXPECT_THAT(session->suggestions(), Contains(Property(&livecall::v1::Suggestion::kind,
                                                        livecall::v1::SUGGESTION_KIND_NEXT_STEP)));
  ASSERT_EQ(session->conversation_size(), 1);
  EXPECT_EQ(session->conversation(0).speaker(), "ai");
  EXPECT_EQ(session->conversation(0).text(), session->greeting());
}

TEST_F(AiSessionServiceTest, StartedSessionReadsBackThroughContext) {
  absl::StatusOr<livecall::v1::Session> started = service_->Start(Request("+998935550101"));
  ASSERT_THAT(started.status(), IsOk());
  EXPECT_EQ(started->language(), "ru");
  absl::StatusOr<livecall::v1::Session> read = service_->Get(started->session_id());
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_THAT(*read, EqualsProto(*started));
}

TEST_F(AiSessionServiceTest, RequestedLanguageOverridesTheCustomers) {
  livecall::v1::StartSessionRequest request = Request("+998901112233");
  request.set_language("en");
  absl::StatusOr<livecall::v1::Session> session = service_->Start(request);
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_THAT(session->greeting(), StartsWith("Hello, Dilshod!"));
}

TEST_F(AiSessionServiceTest, UnknownCallerGetsAGenericUzbekGreeting) {
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998712345678"));
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_FALSE(session->customer().known());
  EXPECT_THAT(session->greeting(), StartsWith("Assalomu alaykum!"));
}

TEST_F(AiSessionServiceTest, BadRequestsAreInvalidArgumentAndStoreNothing) {
  livecall::v1::StartSessionRequest bad_language = Request("+998901112233");
  bad_language.set_language("de");
  livecall::v1::StartSessionRequest bad_direction = Request("+998901112233");
  bad_direction.set_direction("sideways");
  EXPECT_THAT(service_->Start(Request("")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("phoneNumber")));
  EXPECT_THAT(service_->Start(Request("12345")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->Start(bad_language),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("language")));
  EXPECT_THAT(service_->Start(bad_direction), StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<RedisReply> keys = redis_->Command({"KEYS", "livecall:*"});
  ASSERT_THAT(keys.status(), IsOk());
  EXPECT_EQ((*keys)->elements, 0u);
}

// --- The session beside a call -------------------------------------------------------------

TEST_F(AiSessionServiceTest, ACallSidMustLookLikeOneAndABadOneStoresNothing) {
  for (const char* sid :
       {"CA123", "not-a-call", "CAzz23456789abcdef0123456789abcdef",
        "XX0123456789abcdef0123456789abcdef", "CA0123456789abcdef0123456789abcdef0"}) {
    livecall::v1::StartSessionRequest request = Request("+998901112233");
    request.set_call_sid(sid);
    EXPECT_THAT(service_->Start(request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("callSid")))
        << sid;
  }
  absl::StatusOr<RedisReply> keys = redis_->Command({"KEYS", "livecall:*"});
  ASSERT_THAT(keys.status(), IsOk());
  EXPECT_EQ((*keys)->elements, 0u);
}

TEST_F(AiSessionServiceTest, AnAgentAttachesToACallOnlyWithCallControlsWord) {
  // This service has no call-control to ask: an agent naming a call is refused, not believed.
  const CallerIdentity alice{.peer = "gateway", .agent_id = "alice", .role = kRoleAgent};
  livecall::v1::StartSessionRequest request = Request("+998901112233");
  request.set_call_sid("CA0123456789abcdef0123456789abcdef");
  EXPECT_THAT(service_->Start(request, alice), StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<RedisReply> keys = redis_->Command({"KEYS", "livecall:*"});
  ASSERT_THAT(keys.status(), IsOk());
  EXPECT_EQ((*keys)->elements, 0u);
  // A service (call-control answering a webhook) is not checked: nothing is asked back.
  EXPECT_THAT(service_->Start(request).status(), IsOk());
}

// A browser call of `agent_id` as call-control records it: the customer's leg `customer_leg`
// (the call), the browser's `agent_leg` (an alias), the agent's Twilio identity as the owner.
livecall::v1::Call RecordBrowserCall(call_control::CallStore& store, const std::string& agent_id,
                                     const std::string& customer_leg, const std::string& agent_leg,
                                     const std::string& session_id = "") {
  livecall::v1::Call call;
  call.set_call_sid(customer_leg);
  call.set_agent_call_sid(agent_leg);
  call.set_agent_identity(*call_control::AgentIdentity(agent_id));
  call.set_to("+998901112233");
  call.set_direction("outbound-api");
  call.set_status(livecall::v1::CALL_STATUS_IN_PROGRESS);
  call.set_session_id(session_id);
  EXPECT_THAT(store.PutAlias(agent_leg, customer_leg), IsOk());
  EXPECT_THAT(store.Put(call, std::nullopt), IsOk());
  return call;
}

TEST_F(AiSessionServiceTest, CallControlDecidesWhichCallsAnAgentMayAttachTo) {
  AiSessionService service(*stub_, *kb_, /*llm=*/nullptr, executor_, Unary(), AiEngineOptions{},
                           calls_stub_.get());
  const CallerIdentity alice{.peer = "gateway", .agent_id = "alice", .role = kRoleAgent};
  const CallerIdentity bob{.peer = "gateway", .agent_id = "bob", .role = kRoleAgent};
  const std::string customer_leg = "CA1000000000000000000000000000000c";
  const std::string agent_leg = "CA1000000000000000000000000000000a";
  RecordBrowserCall(*call_store_, "alice", customer_leg, agent_leg);
  livecall::v1::StartSessionRequest request = Request("+998901112233");
  for (const std::string& sid : {customer_leg, agent_leg}) {
    request.set_call_sid(sid);
    EXPECT_THAT(service.Start(request, bob), StatusIs(absl::StatusCode::kPermissionDenied));
  }
  request.set_call_sid("CA1000000000000000000000000000000f");
  EXPECT_THAT(service.Start(request, bob), StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<RedisReply> sessions =
      redis_->Command({"KEYS", "livecall:session:{*}:ses_????????????????????????????????"});
  ASSERT_THAT(sessions.status(), IsOk());
  EXPECT_EQ((*sessions)->elements, 0u);

  // Its owner names the browser's leg: the session is the call's, kept under the customer's leg.
  request.set_call_sid(agent_leg);
  absl::StatusOr<livecall::v1::Session> started = service.Start(request, alice);
  ASSERT_THAT(started.status(), IsOk());
  EXPECT_EQ(started->call_sid(), customer_leg);
  EXPECT_EQ(started->agent_id(), "alice");
  request.set_call_sid(customer_leg);
  EXPECT_EQ(service.Start(request, alice)->session_id(), started->session_id());
  // A supervisor may name any call, even one call-control does not know.
  const CallerIdentity supervisor{.peer = "gateway", .agent_id = "sam", .role = kRoleSupervisor};
  EXPECT_EQ(service.Start(request, supervisor)->session_id(), started->session_id());
  request.set_call_sid("CA1000000000000000000000000000000f");
  EXPECT_THAT(service.Start(request, supervisor).status(), IsOk());
}

TEST_F(AiSessionServiceTest, TheOwnerOfACallGetsItsUnownedSession) {
  AiSessionService service(*stub_, *kb_, /*llm=*/nullptr, executor_, Unary(), AiEngineOptions{},
                           calls_stub_.get());
  // An inbound call's session, started by call-control before anyone answered.
  const std::string customer_leg = "CA2000000000000000000000000000000c";
  livecall::v1::StartSessionRequest inbound = Request("+998901112233");
  inbound.set_call_sid(customer_leg);
  inbound.set_direction("inbound");
  absl::StatusOr<livecall::v1::Session> unowned = service.Start(inbound);
  ASSERT_THAT(unowned.status(), IsOk());
  ASSERT_EQ(unowned->agent_id(), "");
  // alice answered (call-control recorded her) and her page starts the call's session.
  RecordBrowserCall(*call_store_, "alice", customer_leg, "CA2000000000000000000000000000000a",
                    unowned->session_id());
  const CallerIdentity alice{.peer = "gateway", .agent_id = "alice", .role = kRoleAgent};
  const CallerIdentity bob{.peer = "gateway", .agent_id = "bob", .role = kRoleAgent};
  livecall::v1::StartSessionRequest page = Request("+998901112233");
  page.set_call_sid("CA2000000000000000000000000000000a");
  EXPECT_THAT(service.Start(page, bob), StatusIs(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<livecall::v1::Session> taken = service.Start(page, alice);
  ASSERT_THAT(taken.status(), IsOk());
  EXPECT_EQ(taken->session_id(), unowned->session_id());
  EXPECT_EQ(taken->agent_id(), "alice");
  EXPECT_EQ(service.Get(unowned->session_id(), alice)->agent_id(), "alice");
}

TEST_F(AiSessionServiceTest, ACallHasOneSessionHoweverManyStartAtOnce) {
  const std::string sid = "CA0123456789abcdef0123456789abcdef";
  constexpr int kStarts = 8;
  std::vector<absl::StatusOr<livecall::v1::Session>> started(kStarts, absl::UnknownError(""));
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kStarts; ++i) {
      threads.emplace_back([&, i] {
        livecall::v1::StartSessionRequest request = Request("+998901112233");
        request.set_call_sid(sid);
        request.set_agent_id("agent_7");
        started[i] = service_->Start(request);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  for (const absl::StatusOr<livecall::v1::Session>& session : started) {
    ASSERT_THAT(session.status(), IsOk());
    EXPECT_EQ(session->session_id(), started[0]->session_id());
    EXPECT_EQ(session->greeting(), started[0]->greeting());
    EXPECT_EQ(session->conversation_size(), 1);
  }
  absl::StatusOr<RedisReply> headers =
      redis_->Command({"KEYS", "livecall:session:{*}:ses_????????????????????????????????"});
  ASSERT_THAT(headers.status(), IsOk());
  EXPECT_EQ((*headers)->elements, 1u);
  // The call's live events announce one session.
  absl::StatusOr<RedisReply> events = redis_->Command({"XLEN", CallEventsKey(sid)});
  ASSERT_THAT(events.status(), IsOk());
  EXPECT_EQ((*events)->integer, 1);

  // A retry later answers the same session, turns and all.
  ASSERT_THAT(service_->AddTurn(Turn(started[0]->session_id(), "customer", "Salom")).status(),
              IsOk());
  livecall::v1::StartSessionRequest retry = Request("+998901112233");
  retry.set_call_sid(sid);
  absl::StatusOr<livecall::v1::Session> again = service_->Start(retry);
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(again->session_id(), started[0]->session_id());
  EXPECT_EQ(again->conversation_size(), 2);
  // Another call gets its own.
  retry.set_call_sid("CA0123456789abcdef0123456789abcde0");
  EXPECT_NE(service_->Start(retry)->session_id(), started[0]->session_id());
}

TEST_F(AiSessionServiceTest, UnknownSessionIsNotFound) {
  EXPECT_THAT(service_->Get("ses_00000000000000000000000000000000"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AiSessionServiceTest, RedisDownIsUnavailableNotACrash) {
  ASSERT_THAT(redis_server_.Stop(), IsOk());
  EXPECT_THAT(service_->Start(Request("+998901112233")), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(AiSessionServiceTest, ACustomerTurnIsStoredAndAnsweredWithSuggestions) {
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  absl::StatusOr<livecall::v1::AddTurnResponse> answer =
      service_->AddTurn(Turn(session->session_id(), "customer", "My internet is down again"));
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(answer->engine(), "embedded");
  EXPECT_EQ(answer->turn().speaker(), "customer");
  ASSERT_FALSE(answer->suggestions().empty());
  EXPECT_EQ(answer->suggestions(0).source(), "internet-outage-en");

  absl::StatusOr<livecall::v1::Session> read = service_->Get(session->session_id());
  ASSERT_THAT(read.status(), IsOk());
  ASSERT_EQ(read->conversation_size(), 2);
  EXPECT_EQ(read->conversation(1).text(), "My internet is down again");
  EXPECT_EQ(read->suggestions(0).source(), "internet-outage-en");
}

TEST_F(AiSessionServiceTest, BadTurnsAreRejectedAndStoreNothing) {
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_THAT(service_->AddTurn(Turn(session->session_id(), "robot", "hi")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("speaker")));
  EXPECT_THAT(service_->AddTurn(Turn(session->session_id(), "customer", "   ")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text")));
  EXPECT_THAT(service_->AddTurn(Turn(session->session_id(), "customer", std::string(3000, 'a'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer")));
  EXPECT_THAT(service_->AddTurn(Turn("ses_00000000000000000000000000000000", "customer", "x")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(service_->Get(session->session_id())->conversation_size(), 1);
}

TEST_F(AiSessionServiceTest, EndingSavesASummaryAndClosesTheSession) {
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  ASSERT_THAT(service_->AddTurn(Turn(session->session_id(), "customer", "internetim ishlamayapti"))
                  .status(),
              IsOk());
  ASSERT_THAT(
      service_->AddTurn(Turn(session->session_id(), "agent", "Ertaga usta keladi")).status(),
      IsOk());
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  end.set_disposition("resolved");
  absl::StatusOr<livecall::v1::Session> ended = service_->End(end);
  ASSERT_THAT(ended.status(), IsOk());
  EXPECT_EQ(ended->status(), "ended");
  EXPECT_EQ(ended->disposition(), "resolved");
  EXPECT_EQ(ended->summary().agreed(), "Ertaga usta keladi");
  EXPECT_EQ(ended->summary().source(), "embedded");
  EXPECT_EQ(service_->Get(session->session_id())->summary().text(), ended->summary().text());
  EXPECT_THAT(service_->AddTurn(Turn(session->session_id(), "customer", "rahmat")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(service_->End(end), StatusIs(absl::StatusCode::kFailedPrecondition));
  end.set_disposition("exploded");
  EXPECT_THAT(service_->End(end), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AiSessionServiceTest, OnlyAServiceOrASupervisorAssignsAnUnownedSession) {
  const CallerIdentity alice{.peer = "gateway", .agent_id = "alice", .role = kRoleAgent};
  const CallerIdentity bob{.peer = "gateway", .agent_id = "bob", .role = kRoleAgent};
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  ASSERT_EQ(session->agent_id(), "");  // Started by a service (an inbound call): nobody's yet.
  EXPECT_THAT(service_->Get(session->session_id(), alice),
              StatusIs(absl::StatusCode::kPermissionDenied));

  livecall::v1::AssignSessionRequest assign;
  assign.set_session_id(session->session_id());
  assign.set_agent_id("alice");
  // An agent cannot take a session for itself.
  EXPECT_THAT(service_->Assign(assign, alice), StatusIs(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<livecall::v1::Session> assigned = service_->Assign(assign);
  ASSERT_THAT(assigned.status(), IsOk());
  EXPECT_EQ(assigned->agent_id(), "alice");
  EXPECT_THAT(service_->Get(session->session_id(), alice), IsOk());
  EXPECT_THAT(service_->Assign(assign), IsOk());  // Again: nothing changes.
  assign.set_agent_id("bob");
  EXPECT_THAT(service_->Assign(assign), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(service_->Get(session->session_id(), bob),
              StatusIs(absl::StatusCode::kPermissionDenied));
  assign.set_agent_id("");
  EXPECT_THAT(service_->Assign(assign), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AiSessionServiceTest, OwnershipIsCheckedBeforeTheRequestsFields) {
  const CallerIdentity alice{.peer = "gateway", .agent_id = "alice", .role = kRoleAgent};
  const CallerIdentity bob{.peer = "gateway", .agent_id = "bob", .role = kRoleAgent};
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"), alice);
  ASSERT_THAT(session.status(), IsOk());
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  end.set_disposition("exploded");
  // Another agent is refused whatever it sends, so probing tells it nothing.
  EXPECT_THAT(service_->AddTurn(Turn(session->session_id(), "robot", ""), bob),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(service_->End(end, bob), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(service_->AddTurn(Turn("ses_00000000000000000000000000000000", "robot", ""), bob),
              StatusIs(absl::StatusCode::kNotFound));
  // Its own agent hears what is wrong with the request.
  EXPECT_THAT(service_->AddTurn(Turn(session->session_id(), "robot", ""), alice),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->End(end, alice), StatusIs(absl::StatusCode::kInvalidArgument));
}

// The RPCs an agent's page calls most wait on no worker: with the executor's workers gone they
// are answered all the same, from gRPC's threads, over the callback client API to context and
// call-control.
TEST_F(AiSessionServiceTest, TheHotRpcsAreAnsweredWithoutAWorker) {
  Executor no_workers(1);
  no_workers.Drain();
  AiSessionService service(*stub_, *kb_, /*llm=*/nullptr, no_workers, Unary(), AiEngineOptions{},
                           calls_stub_.get());
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  LastUnary().AddTo(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  LastUnary().Start();
  std::unique_ptr<livecall::v1::AiSession::Stub> ai =
      livecall::v1::AiSession::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  auto rpc = [] {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  };

  livecall::v1::Session started;
  ASSERT_THAT(ai->StartSession(rpc().get(), Request("+998901112233"), &started), IsOk());
  EXPECT_THAT(started.greeting(), StartsWith("Assalomu alaykum, Dilshod!"));
  EXPECT_THAT(started.suggestions(),
              Contains(Property(&livecall::v1::Suggestion::source, "internet-outage-uz")));
  livecall::v1::GetAiSessionRequest get;
  get.set_session_id(started.session_id());
  livecall::v1::Session read;
  ASSERT_THAT(ai->GetSession(rpc().get(), get, &read), IsOk());
  EXPECT_THAT(read, EqualsProto(started));
  livecall::v1::AddTurnResponse answered;
  ASSERT_THAT(
      ai->AddTurn(rpc().get(), Turn(started.session_id(), "customer", "Internet yo'q"), &answered),
      IsOk());
  EXPECT_EQ(answered.engine(), "embedded");
  EXPECT_FALSE(answered.suggestions().empty());
  livecall::v1::AssignSessionRequest assign;
  assign.set_session_id(started.session_id());
  assign.set_agent_id("agent_7");
  livecall::v1::Session assigned;
  ASSERT_THAT(ai->AssignSession(rpc().get(), assign, &assigned), IsOk());
  EXPECT_EQ(assigned.agent_id(), "agent_7");
  EXPECT_EQ(assigned.conversation_size(), 2);

  // A start naming a call asks call-control for it, asynchronously too: a call it does not know
  // is NOT_FOUND for an agent.
  livecall::v1::StartSessionRequest for_call = Request("+998901112233");
  for_call.set_call_sid("CA0123456789abcdef0123456789abcdef");
  std::unique_ptr<grpc::ClientContext> as_agent = rpc();
  as_agent->AddMetadata(kAgentMetadata, "agent_7");
  as_agent->AddMetadata(kRoleMetadata, RoleName(kRoleAgent));
  livecall::v1::Session unused;
  EXPECT_THAT(ToAbslStatus(ai->StartSession(as_agent.get(), for_call, &unused)),
              StatusIs(absl::StatusCode::kNotFound));

  // The voice agent's reply and the end of the session too.
  livecall::v1::ReplyToCallerRequest said;
  said.set_session_id(started.session_id());
  said.set_text("Internetim ishlamayapti");
  said.set_speech_confidence(0.9f);
  livecall::v1::CallerReply reply;
  ASSERT_THAT(ai->ReplyToCaller(rpc().get(), said, &reply), IsOk());
  EXPECT_EQ(reply.engine(), "embedded");
  EXPECT_EQ(reply.suggestions(0).source(), "internet-outage-uz");
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(started.session_id());
  livecall::v1::Session ended;
  ASSERT_THAT(ai->EndSession(rpc().get(), end, &ended), IsOk());
  EXPECT_EQ(ended.status(), "ended");
  EXPECT_EQ(ended.conversation_size(), 4);
  EXPECT_EQ(ended.summary().source(), "embedded");
  EXPECT_THAT(ToAbslStatus(ai->EndSession(rpc().get(), end, &ended)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  server->Shutdown();
  // Before the server goes: the queues still hold its requests' tags (QueuedUnaryMethods::Stop).
  LastUnary().Stop();
}

// A server shut down and a service destroyed while starts are in flight: every RPC is answered
// (or cancelled) and nothing of a call outlives the service (common/pending_calls.h).
TEST_F(AiSessionServiceTest, ShuttingDownWithStartsInFlightIsClean) {
  for (int round = 0; round < 3; ++round) {
    auto service = std::make_unique<AiSessionService>(
        *stub_, *kb_, /*llm=*/nullptr, executor_, Unary(), AiEngineOptions{}, calls_stub_.get());
    QueuedUnaryMethods& unary = LastUnary();
    grpc::ServerBuilder builder;
    builder.RegisterService(service.get());
    unary.AddTo(builder);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
    unary.Start();
    std::unique_ptr<livecall::v1::AiSession::Stub> ai =
        livecall::v1::AiSession::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
    constexpr int kStarts = 32;
    struct Start {
      grpc::ClientContext context;
      livecall::v1::StartSessionRequest request;
      livecall::v1::Session response;
    };
    std::vector<std::unique_ptr<Start>> starts;
    std::atomic<int> answered{0};
    absl::Notification all_answered;
    for (int i = 0; i < kStarts; ++i) {
      auto start = std::make_unique<Start>();
      start->request = Request("+998901112233");
      start->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      ai->async()->StartSession(&start->context, &start->request, &start->response,
                                [&](grpc::Status) {
                                  if (++answered == kStarts) all_answered.Notify();
                                });
      starts.push_back(std::move(start));
    }
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    service.reset();
    unary.Stop();
    ASSERT_TRUE(all_answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
}

// Context unreachable: each call waits out its own deadline until the breaker has seen enough of
// them; then starts are refused at once, without a call.
TEST_F(AiSessionServiceTest, AnUnreachableContextOpensTheBreakerAndStartsAreRefusedAtOnce) {
  std::unique_ptr<livecall::v1::Context::Stub> nowhere = livecall::v1::Context::NewStub(
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
  AiEngineOptions options;
  options.peer_deadline = absl::Milliseconds(100);
  AiSessionService service(*nowhere, *kb_, /*llm=*/nullptr, executor_, Unary(), options);
  for (int i = 0; i < CircuitBreaker::Options{}.failure_threshold; ++i) {
    EXPECT_THAT(service.Start(Request("+998901112233")),
                AnyOf(StatusIs(absl::StatusCode::kDeadlineExceeded),
                      StatusIs(absl::StatusCode::kUnavailable)));
  }
  // The breaker's own refusal (it names the failures it counted), not a call that failed: no
  // clock in the assertion, so a loaded machine cannot fail it.
  EXPECT_THAT(service.Start(Request("+998901112233")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat(
                           "context is unavailable: ", CircuitBreaker::Options{}.failure_threshold,
                           " attempts in a row failed"))));
}

// An LLM that answers from a script, for the engine-choice tests.
class ScriptedLlm final : public LlmClient {
 public:
  explicit ScriptedLlm(std::function<absl::StatusOr<std::string>(const std::string&)> answer)
      : answer_(std::move(answer)) {}
  absl::StatusOr<std::string> Complete(const std::vector<ChatMessage>& messages,
                                       absl::Duration) override {
    return answer_(messages.front().content);
  }

 private:
  std::function<absl::StatusOr<std::string>(const std::string&)> answer_;
};

TEST_F(AiSessionServiceTest, AWorkingLlmWritesGreetingSuggestionsAndSummary) {
  ScriptedLlm llm([](const std::string& system) -> absl::StatusOr<std::string> {
    if (system.find("opening line") != std::string::npos) return "Hello John, welcome back!";
    if (system.find("Summarise") != std::string::npos) {
      return R"({"text":"John called about fibre.","agreed":"upgrade"})";
    }
    return R"({"suggestions":[{"text":"Offer the fibre upgrade","kind":"next-step"}]})";
  });
  std::unique_ptr<AiSessionService> service = ServiceWithLlm(&llm);
  absl::StatusOr<livecall::v1::Session> session = service->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_EQ(session->greeting(), "Hello John, welcome back!");
  absl::StatusOr<livecall::v1::AddTurnResponse> answer =
      service->AddTurn(Turn(session->session_id(), "customer", "I want faster internet"));
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(answer->engine(), "llm");
  ASSERT_EQ(answer->suggestions_size(), 1);
  EXPECT_EQ(answer->suggestions(0).source(), "llm");
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  EXPECT_EQ(service->End(end)->summary().source(), "llm");
  EXPECT_EQ(service->llm_fallbacks(), 0);
}

TEST_F(AiSessionServiceTest, AFailingLlmFallsBackToTheEmbeddedEngineEveryTime) {
  int calls = 0;
  ScriptedLlm llm([&calls](const std::string&) -> absl::StatusOr<std::string> {
    ++calls;
    if (calls % 2) return absl::DeadlineExceededError("late");
    return std::string("this is not JSON");
  });
  std::unique_ptr<AiSessionService> service = ServiceWithLlm(&llm);
  absl::StatusOr<livecall::v1::Session> session = service->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_THAT(session->greeting(), StartsWith("Hello, John!"));  // The template, not the LLM.
  absl::StatusOr<livecall::v1::AddTurnResponse> answer =
      service->AddTurn(Turn(session->session_id(), "customer", "my internet is down"));
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(answer->engine(), "embedded");
  EXPECT_EQ(answer->suggestions(0).source(), "internet-outage-en");
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  absl::StatusOr<livecall::v1::Session> ended = service->End(end);
  ASSERT_THAT(ended.status(), IsOk());
  EXPECT_EQ(ended->summary().source(), "embedded");
  EXPECT_EQ(service->llm_fallbacks(), 3);
}

TEST_F(AiSessionServiceTest, ARealSlowLlmServerIsCutAtTheDeadlineAndTheEmbeddedEngineAnswers) {
  CurlGlobalInit();
  livecall::fakes::FakeHttpServer server([](const livecall::fakes::FakeRequest&) {
    return StreamedReply("{\"suggestions\":[{\"text\":\"too late\"}]}", 4, absl::Milliseconds(400));
  });
  ASSERT_THAT(server.Start(), IsOk());
  CurlHttpClient http;
  OpenAiLlmClient llm(http, {server.base_url(), "", "m"});
  std::unique_ptr<AiSessionService> service = ServiceWithLlm(&llm, absl::Milliseconds(300));
  absl::StatusOr<livecall::v1::Session> session = service->Start(Request("+998935550101"));
  ASSERT_THAT(session.status(), IsOk());
  absl::StatusOr<livecall::v1::AddTurnResponse> answer =
      service->AddTurn(Turn(session->session_id(), "customer", "интернет не работает"));
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(answer->engine(), "embedded");
  EXPECT_EQ(answer->suggestions(0).source(), "internet-outage-ru");
  EXPECT_GE(service->llm_fallbacks(), 2);  // The greeting and the suggestions.
}

// --- The voice agent (ReplyToCaller) ---------------------------------------------------------

livecall::v1::ReplyToCallerRequest CallerSaid(const std::string& session_id,
                                              const std::string& text, float confidence = 0.9f) {
  livecall::v1::ReplyToCallerRequest request;
  request.set_session_id(session_id);
  request.set_text(text);
  request.set_speech_confidence(confidence);
  return request;
}

TEST_F(AiSessionServiceTest, TheVoiceAgentAnswersFromTheKnowledgeBaseAndKeepsTheConversation) {
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  absl::StatusOr<livecall::v1::CallerReply> reply =
      service_->ReplyToCaller(CallerSaid(session->session_id(), "Internetim ishlamayapti"));
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(reply->action(), "continue");
  EXPECT_EQ(reply->language(), "uz");
  EXPECT_THAT(reply->text(), StartsWith("Hududingizdagi uzilishni tekshiraman."));
  ASSERT_FALSE(reply->suggestions().empty());
  EXPECT_EQ(reply->suggestions(0).source(), "internet-outage-uz");
  // Both sides are in the conversation, with the suggestions for the agent.
  absl::StatusOr<livecall::v1::Session> stored = service_->Get(session->session_id());
  ASSERT_EQ(stored->conversation_size(), 3);
  EXPECT_EQ(stored->conversation(1).speaker(), "customer");
  EXPECT_EQ(stored->conversation(1).text(), "Internetim ishlamayapti");
  EXPECT_EQ(stored->conversation(2).speaker(), "ai");
  EXPECT_EQ(stored->conversation(2).text(), reply->text());
  EXPECT_EQ(stored->suggestions(0).source(), "internet-outage-uz");

  // Silence adds only the agent's line; goodbye ends with a goodbye.
  reply = service_->ReplyToCaller(CallerSaid(session->session_id(), "", 0));
  EXPECT_TRUE(reply->unclear());
  EXPECT_EQ(service_->Get(session->session_id())->conversation_size(), 4);
  reply = service_->ReplyToCaller(CallerSaid(session->session_id(), "Rahmat, xayr!"));
  EXPECT_EQ(reply->action(), "goodbye");
}

TEST_F(AiSessionServiceTest, TheVoiceAgentRefusesBadRequestsAndEndedSessions) {
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_THAT(service_->ReplyToCaller(CallerSaid(session->session_id(), "hi", 1.5f)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      service_->ReplyToCaller(CallerSaid(session->session_id(), std::string(2001, 'a'))).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->ReplyToCaller(CallerSaid("no-such-session", "hi")).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(service_->Get(session->session_id())->conversation_size(), 1);
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  ASSERT_THAT(service_->End(end).status(), IsOk());
  EXPECT_THAT(service_->ReplyToCaller(CallerSaid(session->session_id(), "hello?")).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(AiSessionServiceTest, TheVoiceAgentUsesTheLlmAndFallsBackWhenItFails) {
  int calls = 0;
  ScriptedLlm llm([&calls](const std::string& system) -> absl::StatusOr<std::string> {
    if (system.find("voice agent") == std::string::npos) return absl::UnavailableError("n/a");
    ++calls;
    if (calls == 1)
      return std::string(R"({"reply":"Sure, I will check the line.","action":"continue"})");
    if (calls == 2) return std::string(R"({"reply":"ok","action":"dance"})");
    return absl::DeadlineExceededError("late");
  });
  std::unique_ptr<AiSessionService> service = ServiceWithLlm(&llm);
  absl::StatusOr<livecall::v1::Session> session = service->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  const int64_t fallbacks_after_start = service->llm_fallbacks();
  absl::StatusOr<livecall::v1::CallerReply> reply =
      service->ReplyToCaller(CallerSaid(session->session_id(), "my internet is down"));
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(reply->engine(), "llm");
  EXPECT_EQ(reply->text(), "Sure, I will check the line.");
  // An unknown action and a late LLM: the embedded engine answers, each counted.
  for (int i = 0; i < 2; ++i) {
    reply = service->ReplyToCaller(CallerSaid(session->session_id(), "my internet is down"));
    ASSERT_THAT(reply.status(), IsOk());
    EXPECT_EQ(reply->engine(), "embedded");
    EXPECT_THAT(reply->text(), StartsWith("Let me check for an outage"));
  }
  EXPECT_EQ(service->llm_fallbacks(), fallbacks_after_start + 2);
  // Asking for a person is decided without the LLM.
  reply = service->ReplyToCaller(CallerSaid(session->session_id(), "I want to talk to a human"));
  EXPECT_EQ(reply->action(), "handoff");
  EXPECT_EQ(calls, 3);
}

TEST_F(AiSessionServiceTest, TheVoiceAgentNeitherHearsNorSaysTheCustomersRecord) {
  // An LLM that reads the customer's record out to whoever answers: notes, plan, balance.
  CurlGlobalInit();
  std::atomic<int> caller_replies{0};
  livecall::fakes::FakeHttpServer server([&](const livecall::fakes::FakeRequest& request) {
    if (request.body.find("opening line") != std::string::npos) {
      return StreamedReply("Assalomu alaykum, Dilshod! Routeringiz TP-Link Archer C6.");
    }
    if (request.body.find("voice agent") != std::string::npos) {
      return StreamedReply(
          ++caller_replies == 1
              ? R"({"reply":"Balansingiz 45000 so'm. ROUTER MODELI: tp-link archer c6.","action":"continue"})"
              : R"({"reply":"Dilshod, internet tez-tez uzilib qolmoqda: tekshiraman.","action":"continue"})");
    }
    return StreamedReply("not JSON");
  });
  ASSERT_THAT(server.Start(), IsOk());
  CurlHttpClient http;
  OpenAiLlmClient llm(http, {server.base_url(), "", "m"});
  AiEngineOptions options;
  options.llm_greeting_deadline = absl::Seconds(5);
  options.llm_caller_reply_deadline = absl::Seconds(5);
  options.llm_suggestion_deadline = absl::Seconds(5);
  AiSessionService service(*stub_, *kb_, &llm, executor_, Unary(), options);

  absl::StatusOr<livecall::v1::Session> session = service.Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_THAT(session->greeting(), StartsWith("Assalomu alaykum, Dilshod!"));
  EXPECT_THAT(session->greeting(), Not(HasSubstr("TP-Link")));
  absl::StatusOr<livecall::v1::CallerReply> leaked =
      service.ReplyToCaller(CallerSaid(session->session_id(), "Internetim ishlamayapti"));
  ASSERT_THAT(leaked.status(), IsOk());
  EXPECT_EQ(leaked->engine(), "embedded");
  EXPECT_THAT(leaked->text(), Not(HasSubstr("45000")));
  EXPECT_THAT(absl::AsciiStrToLower(leaked->text()), Not(HasSubstr("tp-link")));
  // What it may say (the name, the open request) is said as the LLM put it.
  absl::StatusOr<livecall::v1::CallerReply> allowed =
      service.ReplyToCaller(CallerSaid(session->session_id(), "Internetim ishlamayapti"));
  ASSERT_THAT(allowed.status(), IsOk());
  EXPECT_EQ(allowed->engine(), "llm");
  EXPECT_EQ(allowed->text(), "Dilshod, internet tez-tez uzilib qolmoqda: tekshiraman.");

  // Nothing of the record but the name and the open request reached the voice agent's prompts;
  // the conversation kept none of it either.
  int voice_prompts = 0;
  for (const livecall::fakes::FakeRequest& request : server.requests()) {
    if (request.body.find("voice agent") == std::string::npos &&
        request.body.find("opening line") == std::string::npos) {
      continue;
    }
    ++voice_prompts;
    EXPECT_THAT(request.body, HasSubstr("Dilshod Karimov"));
    EXPECT_THAT(request.body, HasSubstr("internet tez-tez uzilib qolmoqda"));
    for (const char* withheld : {"TP-Link", "Kechqurun", "45000", "Mbit", "2026-11-20"}) {
      EXPECT_THAT(request.body, Not(HasSubstr(withheld))) << withheld;
    }
  }
  EXPECT_EQ(voice_prompts, 3);
  absl::StatusOr<livecall::v1::Session> stored = service.Get(session->session_id());
  ASSERT_THAT(stored.status(), IsOk());
  for (const livecall::v1::Turn& turn : stored->conversation()) {
    EXPECT_THAT(turn.text(), Not(HasSubstr("45000")));
    EXPECT_THAT(absl::AsciiStrToLower(turn.text()), Not(HasSubstr("tp-link")));
  }
}

// --- ReplyToCaller and EndSession over gRPC, when something goes wrong ---------------------------

// Keeps the server context of the latest RPC, so a test can wait until the server has seen what
// the client did: a client's cancel or deadline reaches the server a little later, and a chain
// that checks before then rightly goes on.
class ServerContextRecorder final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    latest_.store(info->server_context());
    return new PassThrough();
  }
  // Valid while that RPC is unfinished (the tests hold it open with a HeldLlm).
  grpc::ServerContextBase* latest() const { return latest_.load(); }

 private:
  class PassThrough final : public grpc::experimental::Interceptor {
   public:
    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
      methods->Proceed();
    }
  };
  std::atomic<grpc::ServerContextBase*> latest_{nullptr};
};

// An AiSession server in this process for one service, and the calls the tests make to it.
class AiServer {
 public:
  // `unary` is the one `service` was made with.
  AiServer(AiSessionService& service, QueuedUnaryMethods& unary) : unary_(unary) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service);
    unary.AddTo(builder);
    auto recorder = std::make_unique<ServerContextRecorder>();
    recorder_ = recorder.get();
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::move(recorder));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    unary.Start();
    stub_ = livecall::v1::AiSession::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~AiServer() { Shutdown(); }
  // Returns once every RPC has been finished by the service.
  void Shutdown() {
    if (server_ != nullptr) server_->Shutdown();
    // Before the server goes: a chain may still answer a cancelled call through it.
    unary_.Stop();
    server_ = nullptr;
  }
  livecall::v1::AiSession::Stub& stub() { return *stub_; }
  // Whether the server has seen the latest RPC's cancellation; its deadline as the server sees it.
  bool LatestCancelled() const {
    return recorder_->latest() != nullptr && recorder_->latest()->IsCancelled();
  }
  absl::Time LatestDeadline() const {
    return recorder_->latest() == nullptr ? absl::InfiniteFuture()
                                          : absl::FromChrono(recorder_->latest()->deadline());
  }

 private:
  QueuedUnaryMethods& unary_;
  ServerContextRecorder* recorder_;  // Owned by server_.
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<livecall::v1::AiSession::Stub> stub_;
};

// An LLM whose answers wait until the test lets them go (or ignore it: `wait` false).
class HeldLlm final : public LlmClient {
 public:
  absl::StatusOr<std::string> Complete(const std::vector<ChatMessage>& messages,
                                       absl::Duration) override {
    asked_.Notify();
    released_.WaitForNotification();
    if (messages.front().content.find("Summarise") != std::string::npos) {
      return std::string(R"({"text":"Held summary.","agreed":"nothing"})");
    }
    return std::string(R"({"reply":"Held reply.","action":"continue"})");
  }
  bool WaitUntilAsked() { return asked_.WaitForNotificationWithTimeout(absl::Seconds(10)); }
  void Release() { released_.Notify(); }

 private:
  absl::Notification asked_;
  absl::Notification released_;
};

std::unique_ptr<grpc::ClientContext> CallWithin(absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return context;
}

TEST_F(AiSessionServiceTest, EndAndReplyFinishWithContextsRefusalWhenTheSessionEndsMeanwhile) {
  // The LLM is asked after the session was read; meanwhile the session ends (an agent, another
  // replica): context refuses the reply's turn and the second end, and the RPC says so.
  ScriptedLlm llm([&](const std::string& system) -> absl::StatusOr<std::string> {
    if (system.find("voice agent") == std::string::npos &&
        system.find("Summarise") == std::string::npos) {
      return absl::UnavailableError("n/a");
    }
    livecall::v1::EndAiSessionRequest end;
    end.set_session_id(current_session_);
    EXPECT_THAT(service_->End(end).status(), IsOk());
    return absl::UnavailableError("down");
  });
  std::unique_ptr<AiSessionService> service = ServiceWithLlm(&llm);
  AiServer server(*service, LastUnary());
  for (const bool reply : {true, false}) {
    absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
    ASSERT_THAT(session.status(), IsOk());
    current_session_ = session->session_id();
    grpc::Status status;
    if (reply) {
      livecall::v1::ReplyToCallerRequest said;
      said.set_session_id(session->session_id());
      said.set_text("my internet is down");
      livecall::v1::CallerReply answer;
      status = server.stub().ReplyToCaller(CallWithin(absl::Seconds(10)).get(), said, &answer);
    } else {
      livecall::v1::EndAiSessionRequest end;
      end.set_session_id(session->session_id());
      livecall::v1::Session ended;
      status = server.stub().EndSession(CallWithin(absl::Seconds(10)).get(), end, &ended);
    }
    EXPECT_THAT(ToAbslStatus(status), StatusIs(absl::StatusCode::kFailedPrecondition)) << reply;
    // The customer's words were stored before the reply was asked for, the reply was not.
    absl::StatusOr<livecall::v1::Session> stored = service_->Get(session->session_id());
    ASSERT_THAT(stored.status(), IsOk());
    EXPECT_EQ(stored->conversation_size(), reply ? 2 : 1);
    EXPECT_EQ(stored->summary().source(), "embedded");  // The other end's.
  }
}

TEST_F(AiSessionServiceTest, AnEndWhoseClientCancelledWhileTheLlmSummarisedEndsNothing) {
  HeldLlm llm;
  std::unique_ptr<AiSessionService> service = ServiceWithLlm(&llm);
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  AiServer server(*service, LastUnary());
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  livecall::v1::Session ended;
  std::unique_ptr<grpc::ClientContext> call = CallWithin(absl::Seconds(10));
  absl::Notification answered;
  grpc::Status status;
  server.stub().async()->EndSession(call.get(), &end, &ended, [&](grpc::Status finished) {
    status = std::move(finished);
    answered.Notify();
  });
  ASSERT_TRUE(llm.WaitUntilAsked());
  call->TryCancel();
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return server.LatestCancelled(); }, absl::Seconds(10)));
  llm.Release();
  server.Shutdown();  // The chain has finished the RPC.
  absl::StatusOr<livecall::v1::Session> stored = service_->Get(session->session_id());
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->status(), "active");
}

TEST_F(AiSessionServiceTest, AReplyWhoseDeadlinePassedWhileTheLlmWroteIsNotStored) {
  HeldLlm llm;
  std::unique_ptr<AiSessionService> service = ServiceWithLlm(&llm);
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  AiServer server(*service, LastUnary());
  livecall::v1::ReplyToCallerRequest said;
  said.set_session_id(session->session_id());
  said.set_text("my internet is down");
  livecall::v1::CallerReply reply;
  std::unique_ptr<grpc::ClientContext> call = CallWithin(absl::Seconds(1));
  absl::Notification answered;
  grpc::Status status;
  server.stub().async()->ReplyToCaller(call.get(), &said, &reply, [&](grpc::Status finished) {
    status = std::move(finished);
    answered.Notify();
  });
  ASSERT_TRUE(llm.WaitUntilAsked());
  // An LLM that takes longer than the caller waits (this one ignores its own deadline). The
  // server's deadline, which the chain checks, trails the client's by the request's transit.
  ASSERT_TRUE(livecall::testing::WaitFor([&] { return absl::Now() > server.LatestDeadline(); },
                                         absl::Seconds(5)));
  llm.Release();
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  server.Shutdown();
  absl::StatusOr<livecall::v1::Session> stored = service_->Get(session->session_id());
  ASSERT_THAT(stored.status(), IsOk());
  ASSERT_EQ(stored->conversation_size(), 2);  // The caller's words, no reply.
  EXPECT_EQ(stored->conversation(1).speaker(), "customer");
}

// An LLM that answers only at the deadline it is given: slow, but keeping to it.
class LateLlm final : public LlmClient {
 public:
  absl::StatusOr<std::string> Complete(const std::vector<ChatMessage>&,
                                       absl::Duration deadline) override {
    ++asked;
    given = deadline;
    absl::SleepFor(deadline);
    return absl::DeadlineExceededError("late");
  }
  std::atomic<int> asked{0};
  absl::Duration given;
};

TEST_F(AiSessionServiceTest, TheLlmGetsOnlyTheTimeTheCallerLeavesSoTheSessionStillEnds) {
  LateLlm llm;
  AiEngineOptions options;
  options.llm_summary_deadline = absl::Seconds(5);
  AiSessionService service(*stub_, *kb_, &llm, executor_, Unary(), options);
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  AiServer server(service, LastUnary());
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  livecall::v1::Session ended;
  ASSERT_THAT(server.stub().EndSession(CallWithin(absl::Seconds(2)).get(), end, &ended), IsOk());
  EXPECT_EQ(ended.status(), "ended");
  EXPECT_EQ(ended.summary().source(), "embedded");
  EXPECT_EQ(llm.asked, 1);
  EXPECT_LT(llm.given, absl::Seconds(2));
  EXPECT_EQ(service.llm_fallbacks(), 1);
}

TEST_F(AiSessionServiceTest, WithNoWorkerFreeTheEmbeddedEngineRepliesAndSummarises) {
  int asked = 0;
  ScriptedLlm llm([&](const std::string&) -> absl::StatusOr<std::string> {
    ++asked;
    return absl::UnavailableError("never asked");
  });
  Executor full(1, /*max_queued=*/0);  // Refuses every task.
  AiSessionService service(*stub_, *kb_, &llm, full, Unary(), AiEngineOptions{});
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998977770707"));
  ASSERT_THAT(session.status(), IsOk());
  AiServer server(service, LastUnary());
  livecall::v1::ReplyToCallerRequest said;
  said.set_session_id(session->session_id());
  said.set_text("my internet is down");
  livecall::v1::CallerReply reply;
  ASSERT_THAT(server.stub().ReplyToCaller(CallWithin(absl::Seconds(10)).get(), said, &reply),
              IsOk());
  EXPECT_EQ(reply.engine(), "embedded");
  EXPECT_THAT(reply.text(), StartsWith("Let me check for an outage"));
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(session->session_id());
  livecall::v1::Session ended;
  ASSERT_THAT(server.stub().EndSession(CallWithin(absl::Seconds(10)).get(), end, &ended), IsOk());
  EXPECT_EQ(ended.summary().source(), "embedded");
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(service.llm_fallbacks(), 2);
}

// --- The per-replica session copy AddTurn answers from (AiSessionService's class comment).

// A second replica of ai-session on the same context, with `cache_size` sessions kept.
std::unique_ptr<AiSessionService> Replica(livecall::v1::Context::StubInterface& context,
                                          const KnowledgeBase& kb, Executor& executor,
                                          QueuedUnaryMethods& unary, size_t cache_size = 20000) {
  AiEngineOptions options;
  options.session_cache_size = cache_size;
  return std::make_unique<AiSessionService>(context, kb, /*llm=*/nullptr, executor, unary, options);
}

TEST_F(AiSessionServiceTest, TurnsOnAKnownSessionAreAnsweredFromTheCopyAsFromTheStore) {
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  const std::string& id = session->session_id();
  const std::vector<std::pair<std::string, std::string>> said = {
      {"customer", "internet ishlamayapti"},
      {"agent", "Qaysi manzil?"},
      {"customer", "Chilonzor, uyda"},
      {"agent", "Tekshiraman"},
      {"agent", "Routerni o'chirib yoqing"},
      {"customer", "to'lov qancha?"},
      {"agent", "Bir daqiqa"},
      {"agent", "Tarifingiz 99 ming"}};
  for (const auto& [speaker, text] : said) {
    absl::StatusOr<livecall::v1::AddTurnResponse> added =
        service_->AddTurn(Turn(id, speaker, text));
    ASSERT_THAT(added.status(), IsOk()) << text;
    // What the code before the copy gave: suggestions for the stored conversation with the turn.
    absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(id);
    ASSERT_THAT(stored.status(), IsOk());
    EXPECT_EQ(stored->conversation(stored->conversation_size() - 1).text(), text);
    const std::vector<livecall::v1::Suggestion> expected = TurnSuggestions(*kb_, *stored);
    ASSERT_EQ(added->suggestions_size(), static_cast<int>(expected.size())) << text;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_THAT(added->suggestions(static_cast<int>(i)), EqualsProto(expected[i])) << text;
    }
  }
  const AiSessionService::SessionCacheCounts counts = service_->session_cache_counts();
  EXPECT_EQ(counts.hits, static_cast<int64_t>(said.size()));
  EXPECT_EQ(counts.misses, 0);
  EXPECT_EQ(counts.stale, 0);
}

TEST_F(AiSessionServiceTest, ATurnSeesWhatAnotherReplicaOrContextAppendedMeanwhile) {
  std::unique_ptr<AiSessionService> other = Replica(*stub_, *kb_, executor_, Unary());
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  const std::string& id = session->session_id();
  ASSERT_THAT(service_->AddTurn(Turn(id, "agent", "Assalomu alaykum")).status(), IsOk());
  // The other replica has no copy: it reads, appends the customer's words, keeps its copy.
  ASSERT_THAT(other->AddTurn(Turn(id, "customer", "internet ishlamayapti")).status(), IsOk());
  EXPECT_EQ(other->session_cache_counts().misses, 1);

  // This replica's copy is stale: context refuses it and the turn is answered from a new read,
  // whose latest customer words (the other replica's) decide the suggestions.
  absl::StatusOr<livecall::v1::AddTurnResponse> added =
      service_->AddTurn(Turn(id, "agent", "Tekshiraman"));
  ASSERT_THAT(added.status(), IsOk());
  EXPECT_EQ(service_->session_cache_counts().stale, 1);
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  ASSERT_EQ(stored->conversation_size(), 4);
  EXPECT_EQ(stored->conversation(2).text(), "internet ishlamayapti");
  EXPECT_EQ(stored->conversation(3).text(), "Tekshiraman");
  std::vector<livecall::v1::Suggestion> expected = TurnSuggestions(*kb_, *stored);
  ASSERT_EQ(added->suggestions_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_THAT(added->suggestions(static_cast<int>(i)), EqualsProto(expected[i]));
  }

  // A turn written to context directly between two turns here: the next turn is answered with
  // it. The session was refused once for another replica's write: it is read for every turn here
  // now (shared), so that write is no second refusal.
  livecall::v1::AppendTurnRequest direct;
  direct.set_session_id(id);
  direct.mutable_turn()->set_speaker("customer");
  direct.mutable_turn()->set_text("to'lov qancha turadi?");
  livecall::v1::AppendTurnResponse appended;
  grpc::ClientContext direct_context;
  ASSERT_TRUE(stub_->AppendTurn(&direct_context, direct, &appended).ok());
  added = service_->AddTurn(Turn(id, "agent", "Bir daqiqa"));
  ASSERT_THAT(added.status(), IsOk());
  EXPECT_EQ(service_->session_cache_counts().stale, 1);
  EXPECT_EQ(service_->session_cache_counts().shared, 1);
  stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  ASSERT_EQ(stored->conversation_size(), 6);
  EXPECT_EQ(stored->conversation(4).text(), "to'lov qancha turadi?");
  expected = TurnSuggestions(*kb_, *stored);
  ASSERT_EQ(added->suggestions_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_THAT(added->suggestions(static_cast<int>(i)), EqualsProto(expected[i]));
  }
  ASSERT_THAT(service_->AddTurn(Turn(id, "agent", "Rahmat")).status(), IsOk());
  EXPECT_EQ(service_->session_cache_counts().stale, 1);
  EXPECT_EQ(service_->session_cache_counts().shared, 2);
  stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  ASSERT_EQ(stored->conversation_size(), 7);
  EXPECT_EQ(stored->conversation(6).text(), "Rahmat");
}

// A copy keeps its turns' looked-up knowledge-base terms. When another writer changes the
// session, the refused copy goes with its terms: the turn is suggested from the fresh read's
// turns (the other writer's customer words lead), not from the terms the copy kept.
TEST_F(AiSessionServiceTest, TermsKeptWithACopyGoWithTheCopyWhenAnotherWriterChangesTheSession) {
  std::unique_ptr<AiSessionService> other = Replica(*stub_, *kb_, executor_, Unary());
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  const std::string& id = session->session_id();
  ASSERT_THAT(
      service_->AddTurn(Turn(id, "customer", "Internetim ishlamayapti, aloqa yo'q")).status(),
      IsOk());
  absl::StatusOr<livecall::v1::AddTurnResponse> from_kept =
      service_->AddTurn(Turn(id, "agent", "Tekshiraman"));
  ASSERT_THAT(from_kept.status(), IsOk());
  ASSERT_GT(from_kept->suggestions_size(), 0);
  EXPECT_EQ(service_->session_cache_counts().hits, 2);

  ASSERT_THAT(other->AddTurn(Turn(id, "customer", "Wifi parolini unutdim")).status(), IsOk());
  absl::StatusOr<livecall::v1::AddTurnResponse> added =
      service_->AddTurn(Turn(id, "agent", "Bir daqiqa"));
  ASSERT_THAT(added.status(), IsOk());
  EXPECT_EQ(service_->session_cache_counts().stale, 1);
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  const std::vector<livecall::v1::Suggestion> expected = TurnSuggestions(*kb_, *stored);
  ASSERT_EQ(added->suggestions_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_THAT(added->suggestions(static_cast<int>(i)), EqualsProto(expected[i]));
  }
  // The other writer's topic leads now, not the one the copy's kept terms named.
  EXPECT_NE(added->suggestions(0).id(), from_kept->suggestions(0).id());
}

// Replicas behind round robin take a session's turns in turn: each copy would be refused at every
// turn (a wasted call each). After one refusal a replica keeps no copy of that session and reads
// it for each turn, as without a cache; a session only this replica writes keeps its copy.
TEST_F(AiSessionServiceTest, ASessionWrittenThroughTwoReplicasIsRefusedOnceOnEach) {
  std::unique_ptr<AiSessionService> other = Replica(*stub_, *kb_, executor_, Unary());
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  const std::string& id = session->session_id();
  const std::vector<std::string> words = {"salom",     "internet", "ishlamayapti", "tekshiring",
                                          "kechagina", "to'ladim", "rahmat",       "xayr"};
  for (size_t i = 0; i < words.size(); ++i) {
    AiSessionService& replica = i % 2 == 0 ? *other : *service_;
    ASSERT_THAT(replica.AddTurn(Turn(id, "customer", words[i])).status(), IsOk()) << i;
  }
  EXPECT_LE(service_->session_cache_counts().stale, 1);
  EXPECT_LE(other->session_cache_counts().stale, 1);
  EXPECT_EQ(service_->session_cache_counts().hits, 0);
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  ASSERT_EQ(stored->conversation_size(), static_cast<int>(words.size()) + 1);
  for (size_t i = 0; i < words.size(); ++i) {
    EXPECT_EQ(stored->conversation(static_cast<int>(i) + 1).text(), words[i]);
  }

  // Another session, written only here: its copy serves every turn.
  absl::StatusOr<livecall::v1::Session> own = service_->Start(Request("+998901112233"));
  ASSERT_THAT(own.status(), IsOk());
  const int64_t hits = service_->session_cache_counts().hits;
  for (const char* text : {"salom", "yordam kerak"}) {
    ASSERT_THAT(service_->AddTurn(Turn(own->session_id(), "customer", text)).status(), IsOk());
  }
  EXPECT_EQ(service_->session_cache_counts().hits, hits + 2);
}

// The metric counts each turn by how its session was found, as session_cache_counts does.
TEST_F(AiSessionServiceTest, TheCacheMetricCountsEachTurnByItsOutcome) {
  auto count = [](const char* outcome) {
    return livecall::testing::MetricValue(
        SerializeMetrics(),
        absl::StrCat("livecall_session_cache_turns_total{outcome=\"", outcome, "\"}"));
  };
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  ASSERT_THAT(service_->AddTurn(Turn(session->session_id(), "customer", "salom")).status(), IsOk());
  const double hits = count("hit");
  const double misses = count("miss");
  for (const char* text : {"internet ishlamayapti", "rahmat"}) {
    ASSERT_THAT(service_->AddTurn(Turn(session->session_id(), "customer", text)).status(), IsOk());
  }
  EXPECT_EQ(count("hit"), hits + 2);
  // A replica with no copy reads first: a miss.
  std::unique_ptr<AiSessionService> other = Replica(*stub_, *kb_, executor_, Unary());
  ASSERT_THAT(other->AddTurn(Turn(session->session_id(), "agent", "Tekshiraman")).status(), IsOk());
  EXPECT_EQ(count("miss"), misses + 1);
}

TEST_F(AiSessionServiceTest, ACopyOfASessionEndedOrGoneElsewhereGivesTodaysErrors) {
  std::unique_ptr<AiSessionService> other = Replica(*stub_, *kb_, executor_, Unary());
  const CallerIdentity alice{.peer = "gateway", .agent_id = "alice", .role = kRoleAgent};
  const CallerIdentity bob{.peer = "gateway", .agent_id = "bob", .role = kRoleAgent};
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"), alice);
  ASSERT_THAT(session.status(), IsOk());
  const std::string& id = session->session_id();
  ASSERT_THAT(service_->AddTurn(Turn(id, "customer", "salom"), alice).status(), IsOk());
  // From the copy, in today's order: another agent's 403 before a malformed turn's 400.
  EXPECT_THAT(service_->AddTurn(Turn(id, "robot", "salom"), bob),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(service_->AddTurn(Turn(id, "robot", "salom"), alice),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("speaker")));

  // Ended on the other replica: 409 here, as the stored session says, after the 400 checks.
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(id);
  ASSERT_THAT(other->End(end, alice).status(), IsOk());
  EXPECT_THAT(service_->AddTurn(Turn(id, "agent", "   "), alice),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text is required")));
  EXPECT_THAT(service_->AddTurn(Turn(id, "agent", "yana"), alice),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has ended; it takes no more turns")));
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->conversation_size(), 2);

  // Gone (expired) while this replica still has its copy: 404, as for any unknown session.
  absl::StatusOr<livecall::v1::Session> gone = service_->Start(Request("+998901112233"));
  ASSERT_THAT(gone.status(), IsOk());
  ASSERT_THAT(service_->AddTurn(Turn(gone->session_id(), "customer", "salom")).status(), IsOk());
  ASSERT_THAT(redis_
                  ->Command({"DEL", context::SessionKey(gone->session_id()),
                             context::TurnsKey(gone->session_id()),
                             context::SuggestionsKey(gone->session_id())})
                  .status(),
              IsOk());
  EXPECT_THAT(service_->AddTurn(Turn(gone->session_id(), "customer", "salom")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(service_->AddTurn(Turn("ses_0123456789abcdef0123456789abcdef", "customer", "x")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AiSessionServiceTest, AnAssignmentElsewhereIsSeenByTheReplicaWithTheCopy) {
  std::unique_ptr<AiSessionService> other = Replica(*stub_, *kb_, executor_, Unary());
  const CallerIdentity alice{.peer = "gateway", .agent_id = "alice", .role = kRoleAgent};
  const CallerIdentity bob{.peer = "gateway", .agent_id = "bob", .role = kRoleAgent};
  // An inbound call's session, nobody's yet; call-control's turns are appended here.
  livecall::v1::StartSessionRequest inbound = Request("+998901112233");
  inbound.set_direction("inbound");
  absl::StatusOr<livecall::v1::Session> session = service_->Start(inbound);
  ASSERT_THAT(session.status(), IsOk());
  const std::string& id = session->session_id();
  ASSERT_THAT(service_->AddTurn(Turn(id, "customer", "salom")).status(), IsOk());

  // Bob answers: the other replica assigns it. Here, the copy still says nobody's.
  livecall::v1::AssignSessionRequest assign;
  assign.set_session_id(id);
  assign.set_agent_id("bob");
  ASSERT_THAT(other->Assign(assign).status(), IsOk());
  EXPECT_THAT(service_->AddTurn(Turn(id, "agent", "Eshitaman"), alice),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_THAT(service_->AddTurn(Turn(id, "agent", "Eshitaman"), bob).status(), IsOk());
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->agent_id(), "bob");
  ASSERT_EQ(stored->conversation_size(), 3);
  EXPECT_EQ(stored->conversation(2).text(), "Eshitaman");
}

TEST_F(AiSessionServiceTest, WithoutACacheEveryTurnReadsTheSession) {
  std::unique_ptr<AiSessionService> uncached = Replica(*stub_, *kb_, executor_, Unary(), 0);
  absl::StatusOr<livecall::v1::Session> session = uncached->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  for (const char* text : {"internet ishlamayapti", "Tekshiraman", "rahmat"}) {
    ASSERT_THAT(uncached->AddTurn(Turn(session->session_id(), "customer", text)).status(), IsOk());
  }
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(session->session_id());
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->conversation_size(), 4);
  const AiSessionService::SessionCacheCounts counts = uncached->session_cache_counts();
  EXPECT_EQ(counts.hits + counts.misses + counts.stale, 0);
}

TEST_F(AiSessionServiceTest, TheCacheKeepsAtMostItsCapacityAndReadsWhatItDropped) {
  std::unique_ptr<AiSessionService> small = Replica(*stub_, *kb_, executor_, Unary(), 2);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<livecall::v1::Session> session = small->Start(Request("+998901112233"));
    ASSERT_THAT(session.status(), IsOk());
    ids.push_back(session->session_id());
  }
  // The newest is known; the first was dropped to keep two: read again, then known.
  ASSERT_THAT(small->AddTurn(Turn(ids[2], "customer", "salom")).status(), IsOk());
  EXPECT_EQ(small->session_cache_counts().hits, 1);
  ASSERT_THAT(small->AddTurn(Turn(ids[0], "customer", "salom")).status(), IsOk());
  EXPECT_EQ(small->session_cache_counts().misses, 1);
  ASSERT_THAT(small->AddTurn(Turn(ids[0], "customer", "yana")).status(), IsOk());
  EXPECT_EQ(small->session_cache_counts().hits, 2);
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(ids[0]);
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->conversation_size(), 3);
}

TEST_F(AiSessionServiceTest, TheVoiceAgentRepliesFromTheCopyAndSeesOtherWritersTurns) {
  std::unique_ptr<AiSessionService> other = Replica(*stub_, *kb_, executor_, Unary());
  absl::StatusOr<livecall::v1::Session> session = service_->Start(Request("+998901112233"));
  ASSERT_THAT(session.status(), IsOk());
  const std::string& id = session->session_id();
  ASSERT_THAT(service_->ReplyToCaller(CallerSaid(id, "Internetim ishlamayapti")).status(), IsOk());
  // The reply left a good copy: the next turn here appends from it.
  ASSERT_THAT(service_->AddTurn(Turn(id, "customer", "hali ham yo'q")).status(), IsOk());
  EXPECT_EQ(service_->session_cache_counts().hits, 1);
  EXPECT_EQ(service_->session_cache_counts().stale, 0);

  // Another replica's turn makes the copy stale: the reply is made from a fresh read.
  ASSERT_THAT(other->AddTurn(Turn(id, "customer", "to'lov qancha?")).status(), IsOk());
  absl::StatusOr<livecall::v1::CallerReply> reply =
      service_->ReplyToCaller(CallerSaid(id, "Rahmat, xayr!"));
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(reply->action(), "goodbye");
  absl::StatusOr<livecall::v1::Session> stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  std::vector<std::string> said;
  for (const livecall::v1::Turn& turn : stored->conversation()) said.push_back(turn.text());
  ASSERT_EQ(said.size(), 7u);
  EXPECT_EQ(said[1], "Internetim ishlamayapti");
  EXPECT_EQ(said[3], "hali ham yo'q");
  EXPECT_EQ(said[4], "to'lov qancha?");
  EXPECT_EQ(said[5], "Rahmat, xayr!");
  EXPECT_EQ(said[6], reply->text());

  // Ended elsewhere: the voice agent's own refusal, as without the copy, and nothing stored.
  livecall::v1::EndAiSessionRequest end;
  end.set_session_id(id);
  ASSERT_THAT(other->End(end).status(), IsOk());
  EXPECT_THAT(service_->ReplyToCaller(CallerSaid(id, "alo?")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has ended; the voice agent cannot reply")));
  EXPECT_THAT(service_->ReplyToCaller(CallerSaid(id, "", 0)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has ended; the voice agent cannot reply")));
  stored = sessions_->Get(id);
  ASSERT_THAT(stored.status(), IsOk());
  EXPECT_EQ(stored->conversation_size(), 7);
}

// An LLM that records the user prompts it is sent and suggests one thing.
class RecordingLlm final : public LlmClient {
 public:
  absl::StatusOr<std::string> Complete(const std::vector<ChatMessage>& messages,
                                       absl::Duration) override {
    absl::MutexLock lock(&mu_);
    // The conversation the prompt shows (the customer's attributes before it are a map, printed
    // in no fixed order).
    const std::string& prompt = messages.back().content;
    prompts_.push_back(prompt.substr(std::min(prompt.size(), prompt.find("Conversation so far:"))));
    return R"({"suggestions":[{"text":"ok","kind":"answer"}]})";
  }
  std::vector<std::string> prompts() {
    absl::MutexLock lock(&mu_);
    return prompts_;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    prompts_.clear();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> prompts_ ABSL_GUARDED_BY(mu_);
};

TEST_F(AiSessionServiceTest, AReplicaWithTheLlmKeepsTheTurnsItsPromptShowsAndAsksTheSame) {
  // Two replicas with the same scripted LLM: one keeps its copy, the other reads every time
  // (cache off); over a long conversation both send the LLM the same prompts.
  RecordingLlm cached_llm;
  RecordingLlm read_llm;
  AiEngineOptions options;
  options.llm_max_prompt_tokens = 300;
  AiSessionService with_cache(*stub_, *kb_, &cached_llm, executor_, Unary(), options);
  options.session_cache_size = 0;
  AiSessionService without_cache(*stub_, *kb_, &read_llm, executor_, Unary(), options);
  absl::StatusOr<livecall::v1::Session> a = with_cache.Start(Request("+998901112233"));
  absl::StatusOr<livecall::v1::Session> b = without_cache.Start(Request("+998901112233"));
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  cached_llm.Clear();
  read_llm.Clear();
  for (int i = 0; i < 40; ++i) {
    const std::string text = absl::StrCat("turn ", i, " ", std::string(i % 7 * 9, 'x'));
    const std::string speaker = i % 3 == 0 ? "customer" : "agent";
    ASSERT_THAT(with_cache.AddTurn(Turn(a->session_id(), speaker, text)).status(), IsOk());
    ASSERT_THAT(without_cache.AddTurn(Turn(b->session_id(), speaker, text)).status(), IsOk());
  }
  EXPECT_EQ(with_cache.session_cache_counts().hits, 40);
  ASSERT_EQ(cached_llm.prompts().size(), 40u);
  EXPECT_THAT(cached_llm.prompts().back(), StartsWith("Conversation so far:\nagent: turn"));
  EXPECT_EQ(cached_llm.prompts(), read_llm.prompts());
}

}  // namespace
}  // namespace livecall::ai_session
