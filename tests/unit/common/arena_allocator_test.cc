#include "common/arena_allocator.h"

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/executor.h"
#include "common/unary_reactor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.grpc.pb.h"
#include "tests/support/proto_matchers.h"

namespace livecall {
namespace {

using livecall::testing::EqualsProto;
using livecall::v1::AppendTurnRequest;
using livecall::v1::AppendTurnResponse;
using livecall::v1::CreateSessionRequest;
using livecall::v1::GetSessionRequest;
using livecall::v1::Session;

// The answer the test service gives to CreateSession: the request's session with an id.
Session Created(const Session& requested) {
  Session session = requested;
  session.set_session_id(absl::StrCat("session-for-", requested.phone_number()));
  session.set_status("active");
  return session;
}

// A session with `turns` turns of text longer than std::string's inline buffer, a customer with
// attributes and notes, and suggestions: every kind of field a parse puts on the arena.
Session SessionOf(int index, int turns) {
  Session session;
  session.set_phone_number(absl::StrCat("+99890", 1000000 + index));
  session.set_direction("outbound");
  session.set_agent_id(absl::StrCat("agent-", index % 7));
  session.set_language("uz");
  livecall::v1::Customer* customer = session.mutable_customer();
  customer->set_phone_number(session.phone_number());
  customer->set_name(absl::StrCat("Customer number ", index, " with a long name"));
  (*customer->mutable_attributes())["plan"] = absl::StrCat("premium-", index);
  (*customer->mutable_attributes())["city"] = "Tashkent";
  customer->add_notes(absl::StrCat("called about invoice ", index, " last week"));
  for (int i = 0; i < turns; ++i) {
    livecall::v1::Turn* turn = session.add_conversation();
    turn->set_speaker(i % 2 == 0 ? "customer" : "agent");
    turn->set_text(absl::StrCat("turn ", i, " of conversation ", index, ": what was said here"));
    turn->mutable_at()->set_seconds(1700000000 + i);
  }
  livecall::v1::Suggestion* suggestion = session.add_suggestions();
  suggestion->set_id(absl::StrCat("suggestion-", index));
  suggestion->set_text("Offer the customer the new tariff plan");
  suggestion->set_kind(livecall::v1::SUGGESTION_KIND_ANSWER);
  return session;
}

// Context's CreateSession, GetSession and AppendTurn, answered on an Executor as the services do
// (FinishOnExecutor), recording where gRPC put each RPC's messages.
class ArenaContext final : public livecall::v1::Context::CallbackService {
 public:
  explicit ArenaContext(Executor& executor) : executor_(executor) {}

  // Fills the response field by field from the request: both on the RPC's arena.
  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* context,
                                          const CreateSessionRequest* request,
                                          Session* response) override {
    if (request->GetArena() == nullptr || response->GetArena() != request->GetArena()) {
      ++not_on_one_arena;
    }
    return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
      ++handled;
      *response->mutable_customer() = request->session().customer();
      response->mutable_conversation()->CopyFrom(request->session().conversation());
      response->mutable_suggestions()->CopyFrom(request->session().suggestions());
      response->set_phone_number(request->session().phone_number());
      response->set_direction(request->session().direction());
      response->set_agent_id(request->session().agent_id());
      response->set_language(request->session().language());
      response->set_session_id(absl::StrCat("session-for-", request->session().phone_number()));
      response->set_status("active");
      return absl::OkStatus();
    });
  }

  // Moves a session built on the heap into the response, as context's GetSession does: with the
  // response off the arena (ResponsePlacement::kHeap) that move is a swap, which leaves `built`
  // with the response's old, empty content.
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const GetSessionRequest* request,
                                       Session* response) override {
    if (request->GetArena() == nullptr || response->GetArena() != nullptr) ++not_as_placed;
    return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
      ++handled;
      Session built = SessionOf(/*index=*/static_cast<int>(request->session_id().size()),
                                /*turns=*/3);
      built.set_session_id(request->session_id());
      *response = std::move(built);
      if (built.conversation_size() != 0) ++moves_copied;
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* AppendTurn(grpc::CallbackServerContext* context,
                                       const AppendTurnRequest* request,
                                       AppendTurnResponse* response) override {
    return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
      ++handled;
      response->set_turn_count(static_cast<int>(request->turn().text().size()) +
                               request->suggestions_size());
      return absl::OkStatus();
    });
  }

  std::atomic<int> handled{0};
  std::atomic<int> not_on_one_arena{0};
  std::atomic<int> not_as_placed{0};
  std::atomic<int> moves_copied{0};

 private:
  Executor& executor_;
};

class ArenaMessageAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_.SetMessageAllocatorFor_CreateSession(&create_allocator_);
    service_.SetMessageAllocatorFor_GetSession(&get_allocator_);
    service_.SetMessageAllocatorFor_AppendTurn(&append_allocator_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = livecall::v1::Context::NewStub(channel_);
  }

  void TearDown() override {
    server_->Shutdown();
    executor_.Drain();
  }

  grpc::Status CreateSession(const Session& session, Session* created) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    CreateSessionRequest request;
    *request.mutable_session() = session;
    return stub_->CreateSession(&context, request, created);
  }

  Executor executor_{4};
  ArenaContext service_{executor_};
  // A small first block, so that most requests also take the arena's own blocks.
  ArenaMessageAllocator<CreateSessionRequest, Session, ResponsePlacement::kArena, 256>
      create_allocator_;
  ArenaMessageAllocator<GetSessionRequest, Session, ResponsePlacement::kHeap> get_allocator_;
  ArenaMessageAllocator<AppendTurnRequest, AppendTurnResponse> append_allocator_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<livecall::v1::Context::Stub> stub_;
};

TEST_F(ArenaMessageAllocatorTest, ConcurrentRpcsEachGetTheirOwnAnswerFromOneArenaPerRpc) {
  constexpr int kClients = 8;
  constexpr int kRpcsPerClient = 60;
  std::vector<std::vector<std::string>> failures(kClients);
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([this, client, &failures] {
      for (int i = 0; i < kRpcsPerClient; ++i) {
        const int index = client * kRpcsPerClient + i;
        // From no turn to a few kilobytes: within the first block and well past it.
        const Session sent = SessionOf(index, index % 40);
        Session created;
        grpc::Status status = CreateSession(sent, &created);
        if (!status.ok()) {
          failures[client].push_back(absl::StrCat(index, ": ", status.error_message()));
        } else if (!google::protobuf::util::MessageDifferencer::Equals(created, Created(sent))) {
          failures[client].push_back(absl::StrCat(index, ": ", created.ShortDebugString()));
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (const std::vector<std::string>& client_failures : failures) {
    EXPECT_THAT(client_failures, ::testing::IsEmpty());
  }
  EXPECT_EQ(service_.handled.load(), kClients * kRpcsPerClient);
  EXPECT_EQ(service_.not_on_one_arena.load(), 0);
}

TEST_F(ArenaMessageAllocatorTest, AMessageManyTimesTheFirstBlockIsAnsweredWhole) {
  const Session sent = SessionOf(/*index=*/42, /*turns=*/2000);
  ASSERT_GT(sent.ByteSizeLong(), 100'000u);
  Session created;
  grpc::Status status = CreateSession(sent, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(created, EqualsProto(Created(sent)));
}

TEST_F(ArenaMessageAllocatorTest, AHeapResponseTakesAMovedMessageBySwapping) {
  grpc::ClientContext context;
  GetSessionRequest request;
  request.set_session_id("session-moved-in-by-the-handler");
  Session session;
  grpc::Status status = stub_->GetSession(&context, request, &session);
  ASSERT_TRUE(status.ok()) << status.error_message();
  Session expected = SessionOf(static_cast<int>(request.session_id().size()), 3);
  expected.set_session_id(request.session_id());
  EXPECT_THAT(session, EqualsProto(expected));
  EXPECT_EQ(service_.not_as_placed.load(), 0);
  EXPECT_EQ(service_.moves_copied.load(), 0);
}

TEST_F(ArenaMessageAllocatorTest, ConcurrentRpcsOfThreeMethodsWithThreeAllocators) {
  constexpr int kClients = 6;
  constexpr int kRpcsPerClient = 40;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([this, client, &wrong] {
      for (int i = 0; i < kRpcsPerClient; ++i) {
        const int index = client * kRpcsPerClient + i;
        grpc::ClientContext context;
        grpc::Status status;
        switch (index % 3) {
          case 0: {
            Session created;
            status = CreateSession(SessionOf(index, 5), &created);
            if (status.ok() &&
                created.session_id() != absl::StrCat("session-for-+99890", 1000000 + index)) {
              ++wrong;
            }
            break;
          }
          case 1: {
            GetSessionRequest request;
            request.set_session_id(std::string(10 + index % 50, 'g'));
            Session session;
            status = stub_->GetSession(&context, request, &session);
            if (status.ok() && session.session_id() != request.session_id()) ++wrong;
            break;
          }
          default: {
            AppendTurnRequest request;
            request.set_session_id("session-appended-to");
            request.mutable_turn()->set_speaker("customer");
            request.mutable_turn()->set_text(std::string(index, 't'));
            request.add_suggestions()->set_text("a suggestion");
            AppendTurnResponse response;
            status = stub_->AppendTurn(&context, request, &response);
            if (status.ok() && response.turn_count() != index + 1) ++wrong;
            break;
          }
        }
        if (!status.ok()) ++wrong;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(service_.handled.load(), kClients * kRpcsPerClient);
  EXPECT_EQ(service_.not_on_one_arena.load(), 0);
  EXPECT_EQ(service_.not_as_placed.load(), 0);
  EXPECT_EQ(service_.moves_copied.load(), 0);
}

// The holder of a request that does not parse is released too (LeakSanitizer checks that under
// the sanitizers build); the handler never sees the request.
TEST_F(ArenaMessageAllocatorTest, ARequestThatDoesNotParseIsRefusedBeforeTheHandler) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  // Field 1 (session) as a length-delimited field longer than what follows it.
  const char garbage[] = {0x0a, 0x7f, 0x01, 0x02};
  grpc::Slice slice(garbage, sizeof(garbage));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&context, "/livecall.v1.Context/CreateSession", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status answered) {
                      status = std::move(answered);
                      done.Notify();
                    });
  // The call's own deadline bounds this wait.
  done.WaitForNotification();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(service_.handled.load(), 0);
}

}  // namespace
}  // namespace livecall
