#include "services/context/event_watch.h"

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.grpc.pb.h"
#include "services/context/context_service.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::context {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using livecall::v1::LiveEventEnvelope;
using livecall::v1::WatchEventsRequest;

class EventWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(redis_server_.Start(), IsOk());
    RedisPool::Options options;
    options.url = *ParseRedisUrl(redis_server_.url());
    redis_ = std::make_unique<RedisPool>(options);
    sessions_ = std::make_unique<SessionStore>(*redis_, absl::Hours(1));
    hub_ = std::make_unique<EventHub>(
        EventHub::Options{.redis = options.url, .block = absl::Milliseconds(200)});
    hub_->Start();
    service_ = std::make_unique<ContextService>(source_, *sessions_, unary_, hub_.get());
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
    hub_->Stop();
  }

  std::string NewSession(const std::string& call_sid = "") {
    livecall::v1::Session session;
    session.set_phone_number("+998901112233");
    session.set_call_sid(call_sid);
    absl::StatusOr<livecall::v1::Session> created = sessions_->Create(session, absl::Now());
    EXPECT_THAT(created.status(), IsOk());
    return created->session_id();
  }

  void AddTurn(const std::string& session_id, const std::string& text) {
    livecall::v1::Turn turn;
    turn.set_speaker("customer");
    turn.set_text(text);
    google::protobuf::RepeatedPtrField<livecall::v1::Suggestion> suggestions;
    // New each turn, so each turn has a suggestions event.
    suggestions.Add()->set_id("about-" + text);
    ASSERT_THAT(sessions_->AppendTurn(session_id, turn, suggestions).status(), IsOk());
  }

  // Reads `count` events from a watch, then cancels it.
  std::vector<LiveEventEnvelope> Read(const WatchEventsRequest& request, int count,
                                      bool by_call = false) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    std::unique_ptr<grpc::ClientReader<LiveEventEnvelope>> reader =
        by_call ? stub_->WatchCallEvents(&context, request)
                : stub_->WatchSessionEvents(&context, request);
    std::vector<LiveEventEnvelope> events;
    LiveEventEnvelope envelope;
    while (static_cast<int>(events.size()) < count && reader->Read(&envelope)) {
      events.push_back(envelope);
    }
    context.TryCancel();
    reader->Finish();
    return events;
  }

  livecall::testing::RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<SessionStore> sessions_;
  CustomerDirectory directory_;
  DirectorySource source_{directory_};
  QueuedUnaryMethods unary_{{.threads = 2}};
  std::unique_ptr<EventHub> hub_;
  std::unique_ptr<ContextService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<livecall::v1::Context::Stub> stub_;
};

TEST_F(EventWatchTest, ASessionsEventsArriveInOrder) {
  const std::string id = NewSession();
  AddTurn(id, "salom");
  WatchEventsRequest request;
  request.set_session_id(id);
  std::vector<LiveEventEnvelope> events = Read(request, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event().type(), "session.started");
  EXPECT_EQ(events[1].event().type(), "transcript");
  EXPECT_EQ(events[1].event().turn().text(), "salom");
  EXPECT_EQ(events[2].event().type(), "suggestions");
  EXPECT_EQ(events[2].event().session_id(), id);
}

TEST_F(EventWatchTest, ResumingAfterAnEventSkipsWhatWasSeen) {
  const std::string id = NewSession();
  AddTurn(id, "birinchi");
  AddTurn(id, "ikkinchi");
  WatchEventsRequest request;
  request.set_session_id(id);
  std::vector<LiveEventEnvelope> all = Read(request, 5);
  ASSERT_EQ(all.size(), 5u);
  request.set_after_event_id(all[2].event_id());  // Seen through the first suggestions.
  std::vector<LiveEventEnvelope> rest = Read(request, 2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].event_id(), all[3].event_id());
  EXPECT_EQ(rest[0].event().turn().text(), "ikkinchi");
}

TEST_F(EventWatchTest, ACallsStreamCarriesItsSessionsEvents) {
  const std::string call_sid = "CA0123456789abcdef0123456789abcdef";
  const std::string id = NewSession(call_sid);
  AddTurn(id, "hello");
  WatchEventsRequest request;
  request.set_call_sid(call_sid);
  std::vector<LiveEventEnvelope> events = Read(request, 2, /*by_call=*/true);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].event().call_sid(), call_sid);
  EXPECT_EQ(events[1].event().type(), "transcript");
}

TEST_F(EventWatchTest, BadRequestsAreRefused) {
  WatchEventsRequest bad_id;
  bad_id.set_session_id("../etc");
  WatchEventsRequest bad_resume;
  bad_resume.set_session_id("ses_0123456789abcdef0123456789abcdef");
  bad_resume.set_after_event_id("yesterday");
  for (const auto& [request, code] : std::vector<std::pair<WatchEventsRequest, grpc::StatusCode>>{
           {bad_id, grpc::StatusCode::NOT_FOUND},
           {bad_resume, grpc::StatusCode::INVALID_ARGUMENT},
           {WatchEventsRequest(), grpc::StatusCode::INVALID_ARGUMENT}}) {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<LiveEventEnvelope>> reader =
        stub_->WatchSessionEvents(&context, request);
    LiveEventEnvelope envelope;
    EXPECT_FALSE(reader->Read(&envelope));
    EXPECT_EQ(reader->Finish().error_code(), code);
  }
}

// A client that goes away mid-watch ends its subscription to the hub.
TEST_F(EventWatchTest, ACancelledWatchLeavesTheHub) {
  const std::string id = NewSession();
  WatchEventsRequest request;
  request.set_session_id(id);
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<LiveEventEnvelope>> reader =
      stub_->WatchSessionEvents(&context, request);
  LiveEventEnvelope envelope;
  ASSERT_TRUE(reader->Read(&envelope));
  EXPECT_EQ(envelope.event().type(), "session.started");
  EXPECT_EQ(hub_->subscriber_count(), 1u);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(
      livecall::testing::WaitFor([&] { return hub_->subscriber_count() == 0; }, absl::Seconds(20)));
}

// Shutting the server down with watches open ends them once the grace period is over, and
// leaves no subscription behind.
TEST_F(EventWatchTest, ShutdownWithOpenWatchesEndsThem) {
  const std::string id = NewSession();
  WatchEventsRequest request;
  request.set_session_id(id);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<LiveEventEnvelope>>> readers;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub_->WatchSessionEvents(contexts.back().get(), request));
    LiveEventEnvelope envelope;
    ASSERT_TRUE(readers.back()->Read(&envelope));
  }
  EXPECT_EQ(hub_->subscriber_count(), 3u);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
  unary_.Stop();
  EXPECT_EQ(hub_->subscriber_count(), 0u);
  for (auto& reader : readers) EXPECT_FALSE(reader->Finish().ok());
}

}  // namespace
}  // namespace livecall::context
