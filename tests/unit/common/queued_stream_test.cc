// Server streams served from completion queues (QueuedUnaryMethods::HandleServerStream), on a real
// gRPC server over TCP with the observability interceptor. The messages are written from the test's
// own threads, as context's event hub writes its watches.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"
#include "common/grpc_observability.h"
#include "common/queued_unary.h"
#include "common/request_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.grpc.pb.h"
#include "tests/support/wait_for.h"
#include "tests/unit/common/queued_test_server.h"

namespace livecall {
namespace {

using ::livecall::testing::WaitFor;
using livecall::v1::LiveEventEnvelope;
using livecall::v1::WatchEventsRequest;

constexpr char kWatch[] = "/livecall.v1.Context/WatchSessionEvents";
constexpr char kGetSession[] = "/livecall.v1.Context/GetSession";

// Context with WatchSessionEvents and GetSession queued; the rest stays on gRPC's synchronous API
// (UNIMPLEMENTED), so nothing in this server uses the callback API.
class StreamingContext final
    : public QueuedService<livecall::v1::Context, livecall::v1::Context::Service> {
 public:
  StreamingContext() {
    MarkQueued("WatchSessionEvents");
    MarkQueued("GetSession");
  }
};

// The streams the server has open, by the session id their client asked for, written from the
// test's threads. A stream's stop takes it out under the same lock, as EventHub::Unsubscribe waits
// for a running callback: after its stop, nothing writes to it.
class OpenStreams {
 public:
  absl::StatusOr<StopStream> Start(const CallerIdentity& caller, const WatchEventsRequest& request,
                                   QueuedStream<LiveEventEnvelope>& stream) {
    if (request.session_id() == "refused") {
      return absl::InvalidArgumentError("this stream is refused");
    }
    absl::MutexLock lock(&mu_);
    ++starts_;
    callers_.push_back(caller.peer);
    request_ids_.push_back(CurrentRequestId());
    open_[request.session_id()] = &stream;
    return [this, name = request.session_id()] {
      absl::MutexLock lock(&mu_);
      open_.erase(name);
      ++stops_;
    };
  }

  // The stream's Write; nullopt when it is over or not open.
  std::optional<size_t> Write(const std::string& name, const LiveEventEnvelope& message) {
    absl::MutexLock lock(&mu_);
    auto found = open_.find(name);
    if (found == open_.end()) return std::nullopt;
    return found->second->Write(message);
  }
  bool Finish(const std::string& name, const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    auto found = open_.find(name);
    if (found == open_.end()) return false;
    found->second->Finish(status);
    return true;
  }
  bool IsOpen(const std::string& name) {
    absl::MutexLock lock(&mu_);
    return open_.contains(name);
  }
  int starts() {
    absl::MutexLock lock(&mu_);
    return starts_;
  }
  int stops() {
    absl::MutexLock lock(&mu_);
    return stops_;
  }
  std::vector<std::string> callers() {
    absl::MutexLock lock(&mu_);
    return callers_;
  }
  std::vector<std::string> request_ids() {
    absl::MutexLock lock(&mu_);
    return request_ids_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, QueuedStream<LiveEventEnvelope>*> open_ ABSL_GUARDED_BY(mu_);
  int starts_ ABSL_GUARDED_BY(mu_) = 0;
  int stops_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> callers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> request_ids_ ABSL_GUARDED_BY(mu_);
};

// Message `index` of a stream, `padding` bytes bigger than its number.
LiveEventEnvelope Numbered(int index, size_t padding = 0) {
  LiveEventEnvelope message;
  message.set_event_id(absl::StrCat(index));
  if (padding > 0) message.mutable_event()->set_session_id(std::string(padding, 'x'));
  return message;
}

// A client's side of one stream.
struct ClientStream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<LiveEventEnvelope>> reader;

  // Reads up to `count` messages (all of them with -1) and returns their numbers.
  std::vector<int> Read(int count = -1) {
    std::vector<int> numbers;
    LiveEventEnvelope message;
    while ((count < 0 || static_cast<int>(numbers.size()) < count) && reader->Read(&message)) {
      numbers.push_back(std::stoi(message.event_id()));
    }
    return numbers;
  }
};

std::vector<int> Range(int from, int to) {
  std::vector<int> numbers;
  for (int i = from; i < to; ++i) numbers.push_back(i);
  return numbers;
}

class QueuedStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    methods_.HandleServerStream<WatchEventsRequest, LiveEventEnvelope>(
        kWatch, [this](const CallerIdentity& caller, grpc::ServerContextBase&,
                       const WatchEventsRequest& request, QueuedStream<LiveEventEnvelope>& stream) {
          return streams_.Start(caller, request, stream);
        });
    methods_.Handle<livecall::v1::GetSessionRequest, livecall::v1::Session>(
        kGetSession,
        [](const CallerIdentity&, grpc::ServerContextBase&,
           const livecall::v1::GetSessionRequest& request,
           livecall::v1::Session& response) -> absl::Status {
          response.set_session_id(request.session_id());
          return absl::OkStatus();
        });
    testing::QueuedTestServer started = testing::StartQueuedTestServer(service_, methods_);
    ASSERT_NE(started.server, nullptr);
    server_ = std::move(started.server);
    stub_ = livecall::v1::Context::NewStub(started.channel);
  }

  void TearDown() override { ShutDown(absl::Seconds(5)); }

  void ShutDown(absl::Duration grace) {
    if (server_ == nullptr) return;
    testing::ShutDownQueuedTestServer(*server_, methods_, grace);
    server_.reset();
  }

  std::unique_ptr<ClientStream> Open(const std::string& name,
                                     absl::Duration deadline = absl::Seconds(60),
                                     const std::string& api_key = "") {
    auto stream = std::make_unique<ClientStream>();
    stream->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    stream->context.AddMetadata(kRequestIdMetadata, "req-" + name);
    if (!api_key.empty()) stream->context.AddMetadata(kApiKeyMetadata, api_key);
    WatchEventsRequest request;
    request.set_session_id(name);
    stream->reader = stub_->WatchSessionEvents(&stream->context, request);
    return stream;
  }

  // Opens `name` and waits until the server has started it.
  std::unique_ptr<ClientStream> OpenStarted(const std::string& name) {
    std::unique_ptr<ClientStream> stream = Open(name);
    EXPECT_TRUE(WaitFor([&] { return streams_.IsOpen(name); }, absl::Seconds(20)));
    return stream;
  }

  OpenStreams streams_;
  QueuedUnaryMethods methods_{{.threads = 2, .work = QueuedWork::kMayBlock}};
  StreamingContext service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<livecall::v1::Context::Stub> stub_;
};

TEST_F(QueuedStreamTest, MessagesFromAnotherThreadArriveInOrderThenTheOkFinish) {
  std::unique_ptr<ClientStream> client = OpenStarted("s-order");
  EXPECT_EQ(streams_.request_ids(), std::vector<std::string>{"req-s-order"});
  std::thread writer([this] {
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(streams_.Write("s-order", Numbered(i)).has_value());
    // OK: after the writes still waiting.
    ASSERT_TRUE(streams_.Finish("s-order", absl::OkStatus()));
  });
  EXPECT_EQ(client->Read(), Range(0, 500));
  EXPECT_TRUE(client->reader->Finish().ok());
  writer.join();
  EXPECT_TRUE(WaitFor([&] { return streams_.stops() == 1; }, absl::Seconds(20)));
  // Unary calls of the same set are answered beside the streams.
  grpc::ClientContext context;
  livecall::v1::GetSessionRequest request;
  request.set_session_id("s-unary");
  livecall::v1::Session session;
  ASSERT_TRUE(stub_->GetSession(&context, request, &session).ok());
  EXPECT_EQ(session.session_id(), "s-unary");
}

// A client that does not read stops the write in flight (HTTP/2 flow control); later messages
// wait in order, and all of them arrive once it reads.
TEST_F(QueuedStreamTest, ASlowReaderGetsEveryMessageInOrder) {
  std::unique_ptr<ClientStream> client = OpenStarted("s-slow");
  constexpr int kMessages = 2000;  // 32 MB: far more than the transport buffers for a stream.
  size_t most_waiting = 0;
  for (int i = 0; i < kMessages; ++i) {
    std::optional<size_t> waiting = streams_.Write("s-slow", Numbered(i, 16 * 1024));
    ASSERT_TRUE(waiting.has_value()) << i;
    most_waiting = std::max(most_waiting, *waiting);
  }
  ASSERT_TRUE(streams_.Finish("s-slow", absl::OkStatus()));
  EXPECT_GT(most_waiting, 100u);
  EXPECT_EQ(client->Read(), Range(0, kMessages));
  EXPECT_TRUE(client->reader->Finish().ok());
}

// An error ends the stream at once: what waits is dropped, and the client gets the status after
// the messages already on their way.
TEST_F(QueuedStreamTest, AnErrorFinishDropsWhatWaits) {
  std::unique_ptr<ClientStream> client = OpenStarted("s-error");
  int written = 0;
  for (std::optional<size_t> waiting = 0; *waiting < 50; ++written) {
    waiting = streams_.Write("s-error", Numbered(written, 16 * 1024));
    ASSERT_TRUE(waiting.has_value());
  }
  ASSERT_TRUE(streams_.Finish("s-error", absl::ResourceExhaustedError("reads too slowly")));
  // Over: later messages are refused.
  EXPECT_FALSE(streams_.Write("s-error", Numbered(written)).has_value());
  std::vector<int> read = client->Read();
  EXPECT_LE(read.size(), static_cast<size_t>(written - 50));
  EXPECT_EQ(read, Range(0, static_cast<int>(read.size())));
  const grpc::Status status = client->reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "reads too slowly");
  EXPECT_TRUE(WaitFor([&] { return streams_.stops() == 1; }, absl::Seconds(20)));
}

// The client cancels while messages are being written: the stream ends, its stop runs, and the
// writer learns it is over.
TEST_F(QueuedStreamTest, CancellingMidStreamEndsItAndRunsItsStop) {
  std::unique_ptr<ClientStream> client = OpenStarted("s-cancel");
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (streams_.Write("s-cancel", Numbered(written, 1024)).has_value()) ++written;
  });
  EXPECT_EQ(client->Read(10), Range(0, 10));
  client->context.TryCancel();
  EXPECT_EQ(client->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  writer.join();  // Ends only once the stream is over.
  EXPECT_GE(written.load(), 10);
  EXPECT_TRUE(WaitFor([&] { return streams_.stops() == 1; }, absl::Seconds(20)));
  EXPECT_FALSE(streams_.IsOpen("s-cancel"));
}

TEST_F(QueuedStreamTest, TheClientsDeadlineEndsAQuietStream) {
  std::unique_ptr<ClientStream> client = Open("s-quiet", absl::Milliseconds(300));
  EXPECT_TRUE(client->Read().empty());
  EXPECT_EQ(client->reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(WaitFor([&] { return streams_.stops() == 1; }, absl::Seconds(20)));
}

TEST_F(QueuedStreamTest, ARefusedStreamAnswersItsStatusAndNeverStops) {
  std::unique_ptr<ClientStream> client = Open("refused");
  EXPECT_TRUE(client->Read().empty());
  const grpc::Status status = client->reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "this stream is refused");
  EXPECT_EQ(streams_.starts(), 0);
  EXPECT_EQ(streams_.stops(), 0);
}

TEST_F(QueuedStreamTest, AnUnauthenticatedCallerIsRefusedBeforeTheStreamStarts) {
  InstallGrpcCallerAuthenticator(
      GrpcAuthConfig{.enabled = true, .accepted_keys = {{"gateway", "gateway-key-0123456789"}}});
  std::unique_ptr<ClientStream> refused = Open("s-nokey");
  EXPECT_TRUE(refused->Read().empty());
  EXPECT_EQ(refused->reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(streams_.starts(), 0);
  std::unique_ptr<ClientStream> let_in = Open("s-key", absl::Seconds(60), "gateway-key-0123456789");
  EXPECT_TRUE(WaitFor([&] { return streams_.IsOpen("s-key"); }, absl::Seconds(20)));
  EXPECT_EQ(streams_.callers(), std::vector<std::string>{"gateway"});
  InstallGrpcCallerAuthenticator(GrpcAuthConfig{.enabled = false});
  let_in->context.TryCancel();
  EXPECT_EQ(let_in->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// Shutdown with streams open (one with a write stuck behind a client that does not read, one
// quiet) ends them once the grace period is over: no hang, and every stop runs.
TEST_F(QueuedStreamTest, ShutdownWithOpenStreamsEndsThemAndRunsTheirStops) {
  std::unique_ptr<ClientStream> stuck = OpenStarted("s-stuck");
  std::unique_ptr<ClientStream> quiet = OpenStarted("s-quiet");
  for (int i = 0;; ++i) {
    std::optional<size_t> waiting = streams_.Write("s-stuck", Numbered(i, 16 * 1024));
    ASSERT_TRUE(waiting.has_value());
    if (*waiting >= 20) break;  // 20 messages wait behind a stuck write.
  }
  ShutDown(absl::Milliseconds(200));
  EXPECT_EQ(streams_.stops(), 2);
  EXPECT_FALSE(streams_.Write("s-stuck", Numbered(0)).has_value());
  EXPECT_FALSE(quiet->reader->Finish().ok());
  stuck->Read();
  EXPECT_FALSE(stuck->reader->Finish().ok());
}

// A unary method handed to HandleServerStream, or a streaming one to Handle.
void StreamAUnaryMethod() {
  QueuedUnaryMethods methods({.threads = 1});
  methods.HandleServerStream<livecall::v1::GetSessionRequest, livecall::v1::Session>(
      kGetSession,
      [](const CallerIdentity&, grpc::ServerContextBase&, const livecall::v1::GetSessionRequest&,
         QueuedStream<livecall::v1::Session>&) -> absl::StatusOr<StopStream> {
        return absl::UnimplementedError("never");
      });
}
void AnswerAStreamingMethodOnce() {
  QueuedUnaryMethods methods({.threads = 1});
  methods.Handle<WatchEventsRequest, LiveEventEnvelope>(
      kWatch, [](const CallerIdentity&, grpc::ServerContextBase&, const WatchEventsRequest&,
                 LiveEventEnvelope&) { return absl::OkStatus(); });
}

TEST(QueuedStreamContractTest, AStreamHandledAsUnaryOrTheReverseStopsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(StreamAUnaryMethod(), "does not stream");
  EXPECT_DEATH(AnswerAStreamingMethodOnce(), "streams; HandleServerStream serves it");
}

}  // namespace
}  // namespace livecall
