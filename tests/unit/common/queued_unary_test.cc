// Unary methods served from completion queues (common/queued_unary.h), on a real gRPC server over
// TCP beside methods that stay on the callback API, with the observability interceptor.

#include "common/queued_unary.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"
#include "common/grpc_observability.h"
#include "common/metrics.h"
#include "common/request_id.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.grpc.pb.h"
#include "tests/support/metrics_text.h"
#include "tests/support/wait_for.h"
#include "tests/unit/common/queued_test_server.h"

namespace livecall {
namespace {

using livecall::v1::GetSessionRequest;
using livecall::v1::Session;
using ::testing::HasSubstr;

constexpr char kGetSession[] = "/livecall.v1.Context/GetSession";
constexpr char kEndSession[] = "/livecall.v1.Context/EndSession";

// Context with GetSession, EndSession and AssignSession queued and LookupCustomer left on the
// callback API.
class MixedContext final : public QueuedService<livecall::v1::Context> {
 public:
  MixedContext() {
    MarkQueued("GetSession");
    MarkQueued("EndSession");
    MarkQueued("AssignSession");
  }
  grpc::ServerUnaryReactor* LookupCustomer(grpc::CallbackServerContext* context,
                                           const livecall::v1::LookupCustomerRequest* request,
                                           livecall::v1::Customer* response) override {
    response->set_phone_number(request->phone_number());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Whether `scope` learns of its client's cancellation within 20 s (the done tag comes back on
// the polling thread shortly after the client's cancel reaches the server).
bool WaitForCancellation(const CallScope& scope) {
  return livecall::testing::WaitFor([&] { return !scope.StillWanted().ok(); }, absl::Seconds(20));
}

class QueuedUnaryTest : public ::testing::Test {
 protected:
  // Builds and starts the server with `methods`, after the test has added its handlers.
  void Serve(QueuedUnaryMethods& methods) {
    testing::QueuedTestServer started = testing::StartQueuedTestServer(service_, methods);
    ASSERT_NE(started.server, nullptr);
    server_ = std::move(started.server);
    channel_ = std::move(started.channel);
    stub_ = livecall::v1::Context::NewStub(channel_);
  }

  void Shutdown(QueuedUnaryMethods& methods) {
    testing::ShutDownQueuedTestServer(*server_, methods, absl::Seconds(5));
  }

  // Calls GetSession, waits until its work has `started`, then cancels it: the client sees
  // CANCELLED while the work (a chain) may still hold the call.
  void CallThenCancel(absl::Notification& started) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    GetSessionRequest request;
    Session session;
    absl::Notification answered;
    grpc::Status status;
    stub_->async()->GetSession(&context, &request, &session, [&](grpc::Status finished) {
      status = finished;
      answered.Notify();
    });
    ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(20)));
    context.TryCancel();
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(20)));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  }

  absl::StatusOr<Session> GetSession(const std::string& id, const std::string& request_id = "",
                                     std::string* version = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    if (!request_id.empty()) context.AddMetadata(kRequestIdMetadata, request_id);
    GetSessionRequest request;
    request.set_session_id(id);
    Session session;
    grpc::Status status = stub_->GetSession(&context, request, &session);
    if (!status.ok()) return ToAbslStatus(status);
    if (version != nullptr) {
      auto found = context.GetServerTrailingMetadata().find("livecall-test-version");
      if (found != context.GetServerTrailingMetadata().end()) {
        *version = std::string(found->second.data(), found->second.size());
      }
    }
    return session;
  }

  // Calls `method` with raw request bytes through a generic stub.
  grpc::Status CallRaw(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status result;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status status) {
                     result = status;
                     done.Notify();
                   });
    done.WaitForNotification();
    return result;
  }

  MixedContext service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<livecall::v1::Context::Stub> stub_;
};

TEST_F(QueuedUnaryTest, AnswersInPlaceWithTheRequestIdAndTrailingMetadata) {
  // Counters are the process's: compared with their values before, so that repeated runs agree.
  constexpr char kNotFound[] =
      "livecall_grpc_server_handled_total{grpc_code=\"NOT_FOUND\",grpc_method=\"GetSession\","
      "grpc_service=\"livecall.v1.Context\"}";
  constexpr char kNeverCame[] =
      "livecall_grpc_server_handled_total{grpc_code=\"CANCELLED\",grpc_method=\"unknown\","
      "grpc_service=\"unknown\"}";
  const std::string metrics_before = SerializeMetrics();
  QueuedUnaryMethods methods({.threads = 2, .work = QueuedWork::kMayBlock});
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [](const CallerIdentity&, grpc::ServerContextBase& context, const GetSessionRequest& request,
         Session& response) -> absl::Status {
        if (request.session_id() == "missing") return absl::NotFoundError("no session missing");
        response.set_session_id(request.session_id());
        response.set_greeting(CurrentRequestId());
        context.AddTrailingMetadata("livecall-test-version", "7");
        return absl::OkStatus();
      });
  Serve(methods);

  std::string version;
  absl::StatusOr<Session> found = GetSession("s-1", "req-42", &version);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->session_id(), "s-1");
  EXPECT_EQ(found->greeting(), "req-42");  // The work ran with the caller's request id.
  EXPECT_EQ(version, "7");
  EXPECT_EQ(GetSession("missing").status().code(), absl::StatusCode::kNotFound);

  // The method left on the callback API still answers beside the queued ones.
  grpc::ClientContext context;
  livecall::v1::LookupCustomerRequest lookup;
  lookup.set_phone_number("+998901112233");
  livecall::v1::Customer customer;
  ASSERT_TRUE(stub_->LookupCustomer(&context, lookup, &customer).ok());
  EXPECT_EQ(customer.phone_number(), "+998901112233");
  Shutdown(methods);

  // The observability interceptor saw the queued calls under their own method names, and not the
  // calls the threads had asked for when the server shut down, which never came.
  const std::string metrics = SerializeMetrics();
  EXPECT_EQ(
      testing::MetricValue(metrics, kNotFound) - testing::MetricValue(metrics_before, kNotFound),
      1);
  EXPECT_EQ(testing::MetricValue(metrics, kNeverCame),
            testing::MetricValue(metrics_before, kNeverCame));
  EXPECT_THAT(metrics, HasSubstr("livecall_grpc_server_in_flight 0"));
}

TEST_F(QueuedUnaryTest, UnknownMethodsAndBadBytesAreClearErrors) {
  QueuedUnaryMethods methods({.threads = 1});
  std::atomic<int> runs{0};
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [&runs](const CallerIdentity&, grpc::ServerContextBase&, const GetSessionRequest&,
              Session&) -> absl::Status {
        ++runs;
        return absl::OkStatus();
      });
  Serve(methods);
  // Marked queued but given no handler, and a path no service has.
  EXPECT_EQ(CallRaw(kEndSession, "").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(CallRaw("/livecall.v1.Nothing/Here", "").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // Field 1 (session_id) as a length-delimited value running past the end of the message.
  const grpc::Status garbled = CallRaw(kGetSession, std::string("\x0a\x7f"
                                                                "abc",
                                                                5));
  EXPECT_EQ(garbled.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(garbled.error_message(), HasSubstr("livecall.v1.GetSessionRequest"));
  EXPECT_EQ(runs.load(), 0);
  Shutdown(methods);
}

// With kMayBlock a thread asks for a call only while it is free: a call arriving while one
// thread blocks goes to the other thread (which polls once the watch sees the first blocked)
// instead of queueing behind the blocked one.
TEST_F(QueuedUnaryTest, ABlockedThreadTakesNoCallWhileAnotherIsFree) {
  QueuedUnaryMethods methods({.threads = 2, .work = QueuedWork::kMayBlock});
  absl::Notification blocked;
  absl::Notification release;
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [&](const CallerIdentity&, grpc::ServerContextBase&, const GetSessionRequest& request,
          Session& response) -> absl::Status {
        if (request.session_id() == "slow") {
          blocked.Notify();
          release.WaitForNotification();
        }
        response.set_session_id(request.session_id());
        return absl::OkStatus();
      });
  Serve(methods);
  std::thread slow([&] { EXPECT_TRUE(GetSession("slow").ok()); });
  blocked.WaitForNotification();
  // Many calls in turn, each answered while the first thread is still blocked.
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<Session> quick = GetSession(absl::StrCat("quick-", i));
    ASSERT_TRUE(quick.ok()) << quick.status();
    EXPECT_FALSE(release.HasBeenNotified());
  }
  release.Notify();
  slow.join();
  Shutdown(methods);
}

// kMayBlock's threads share one queue and poll only as the load needs (parked otherwise): as many
// calls as threads, each blocking until all of them run, all run at once; and again after a spell
// of one call at a time, long enough for the unneeded threads to have parked.
TEST_F(QueuedUnaryTest, AsManyBlockingCallsAsThreadsRunAtOnceAgainAfterQuietLoad) {
  constexpr int kThreads = 4;
  QueuedUnaryMethods methods({.threads = kThreads, .work = QueuedWork::kMayBlock});
  absl::Mutex mu;
  int running = 0;
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [&](const CallerIdentity&, grpc::ServerContextBase&, const GetSessionRequest& request,
          Session& response) -> absl::Status {
        if (request.session_id() == "together") {
          absl::MutexLock lock(&mu);
          ++running;
          const absl::Condition all_running(
              +[](int* n) { return *n % kThreads == 0; }, &running);
          if (!mu.AwaitWithTimeout(all_running, absl::Seconds(20))) {
            return absl::DeadlineExceededError("the others never ran beside this call");
          }
        }
        response.set_session_id(request.session_id());
        return absl::OkStatus();
      });
  Serve(methods);
  auto burst = [&] {
    std::vector<std::thread> callers;
    for (int i = 0; i < kThreads; ++i) {
      callers.emplace_back([&] {
        absl::StatusOr<Session> answered = GetSession("together");
        EXPECT_TRUE(answered.ok()) << answered.status();
      });
    }
    for (std::thread& caller : callers) caller.join();
  };
  burst();
  // One call at a time for 300 ms: the threads the load no longer needs park (after 50 ms).
  const absl::Time quiet_until = absl::Now() + absl::Milliseconds(300);
  while (absl::Now() < quiet_until) ASSERT_TRUE(GetSession("alone").ok());
  burst();
  Shutdown(methods);
}

TEST_F(QueuedUnaryTest, AsyncWorkAnswersFromAnotherThreadAndAForgottenAnswerIsInternal) {
  QueuedUnaryMethods methods({.threads = 1, .work = QueuedWork::kNeverBlocks});
  std::vector<std::thread> answerers;
  absl::Mutex mu;
  methods.HandleAsync<GetSessionRequest, Session>(
      kGetSession, [&](const CallerIdentity&, CallScope scope, const GetSessionRequest& request,
                       Session& response, AsyncFinish finish) {
        if (request.session_id() == "forgotten") return;  // Drops `finish` unanswered.
        absl::MutexLock lock(&mu);
        answerers.emplace_back(
            [&response, finish, scope = std::move(scope), id = request.session_id()] {
              response.set_session_id(id);
              response.set_greeting(scope.request_id());
              finish(scope.StillWanted());
            });
      });
  Serve(methods);
  absl::StatusOr<Session> answered = GetSession("s-async", "req-async");
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->session_id(), "s-async");
  EXPECT_EQ(answered->greeting(), "req-async");
  EXPECT_EQ(GetSession("forgotten").status().code(), absl::StatusCode::kInternal);
  Shutdown(methods);
  for (std::thread& thread : answerers) thread.join();
}

TEST_F(QueuedUnaryTest, AnUnauthenticatedCallerIsRefusedBeforeTheWork) {
  InstallGrpcCallerAuthenticator(
      GrpcAuthConfig{.enabled = true, .accepted_keys = {{"gateway", "gateway-key-0123456789"}}});
  QueuedUnaryMethods methods({.threads = 1});
  std::atomic<int> runs{0};
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [&runs](const CallerIdentity& caller, grpc::ServerContextBase&, const GetSessionRequest&,
              Session& response) -> absl::Status {
        ++runs;
        response.set_session_id(caller.peer);
        return absl::OkStatus();
      });
  // A public method (a health check) answers any caller, with no identity.
  methods.Handle<livecall::v1::EndSessionRequest, Session>(
      kEndSession,
      [](const CallerIdentity& caller, grpc::ServerContextBase&,
         const livecall::v1::EndSessionRequest&, Session& response) -> absl::Status {
        response.set_session_id(absl::StrCat("public:", caller.peer));
        return absl::OkStatus();
      },
      QueuedAccess::kPublic);
  Serve(methods);
  EXPECT_EQ(GetSession("s-1").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(runs.load(), 0);
  {
    grpc::ClientContext context;
    livecall::v1::EndSessionRequest request;
    Session session;
    ASSERT_TRUE(stub_->EndSession(&context, request, &session).ok());
    EXPECT_EQ(session.session_id(), "public:");
  }
  grpc::ClientContext context;
  context.AddMetadata(kApiKeyMetadata, "gateway-key-0123456789");
  GetSessionRequest request;
  Session session;
  ASSERT_TRUE(stub_->GetSession(&context, request, &session).ok());
  EXPECT_EQ(session.session_id(), "gateway");
  EXPECT_EQ(runs.load(), 1);
  Shutdown(methods);
  InstallGrpcCallerAuthenticator(GrpcAuthConfig{.enabled = false});
}

// The server's shutdown waits for a call whose blocking work is running; the work's answer is
// the last thing sent, and the threads then stop.
TEST_F(QueuedUnaryTest, ShutdownWaitsForWorkInPlace) {
  QueuedUnaryMethods methods({.threads = 2, .work = QueuedWork::kMayBlock});
  absl::Notification started;
  std::atomic<bool> finished{false};
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [&](const CallerIdentity&, grpc::ServerContextBase&, const GetSessionRequest& request,
          Session& response) -> absl::Status {
        started.Notify();
        absl::SleepFor(absl::Milliseconds(200));  // Work in progress, not a wait for a server.
        response.set_session_id(request.session_id());
        finished = true;
        return absl::OkStatus();
      });
  Serve(methods);
  absl::StatusOr<Session> during;
  std::thread call([&] { during = GetSession("s-during"); });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  Shutdown(methods);
  EXPECT_TRUE(finished.load());
  call.join();
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->session_id(), "s-during");
}

// A call whose deadline passes while every thread is busy is never run: gRPC, or the check before
// the work, answers it DEADLINE_EXCEEDED.
TEST_F(QueuedUnaryTest, ACallWhoseDeadlinePassedWhileEveryThreadWasBusyIsNotRun) {
  QueuedUnaryMethods methods({.threads = 1, .work = QueuedWork::kMayBlock});
  absl::Notification blocked;
  absl::Notification release;
  std::atomic<int> runs{0};
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [&](const CallerIdentity&, grpc::ServerContextBase&, const GetSessionRequest& request,
          Session&) -> absl::Status {
        ++runs;
        if (request.session_id() == "slow") {
          blocked.Notify();
          release.WaitForNotification();
        }
        return absl::OkStatus();
      });
  Serve(methods);
  std::thread slow([&] { EXPECT_TRUE(GetSession("slow").ok()); });
  ASSERT_TRUE(blocked.WaitForNotificationWithTimeout(absl::Seconds(20)));
  grpc::ClientContext context;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(200);
  context.set_deadline(absl::ToChronoTime(deadline));
  GetSessionRequest request;
  request.set_session_id("late");
  Session session;
  EXPECT_EQ(stub_->GetSession(&context, request, &session).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's deadline is the client's plus the request's transit (grpc-timeout counts from
  // its arrival), well under a second here: the thread is freed only once that has passed too.
  ASSERT_TRUE(livecall::testing::WaitFor([&] { return absl::Now() > deadline + absl::Seconds(1); },
                                         absl::Seconds(10)));
  release.Notify();
  slow.join();
  // The thread is free again, and the next call is answered.
  EXPECT_TRUE(GetSession("next").ok());
  EXPECT_EQ(runs.load(), 2);  // "slow" and "next"; never "late".
  Shutdown(methods);
}

// With watch_cancellation, a chain still running when its client cancels sees it (StillWanted).
TEST_F(QueuedUnaryTest, AChainLearnsThatItsClientCancelled) {
  QueuedUnaryMethods methods(
      {.threads = 1, .work = QueuedWork::kNeverBlocks, .watch_cancellation = true});
  absl::Notification started;
  absl::Notification cancelled;
  std::thread chain;
  absl::Status seen;
  methods.HandleAsync<GetSessionRequest, Session>(
      kGetSession, [&](const CallerIdentity&, CallScope scope, const GetSessionRequest&, Session&,
                       AsyncFinish finish) {
        EXPECT_TRUE(scope.StillWanted().ok());
        chain = std::thread([&, scope = std::move(scope), finish] {
          // The chain's next step, after the client has gone.
          cancelled.WaitForNotification();
          ASSERT_TRUE(WaitForCancellation(scope));
          seen = scope.StillWanted();
          finish(seen);
        });
        // Only now, once `chain` holds the thread: the test joins it.
        started.Notify();
      });
  Serve(methods);
  CallThenCancel(started);
  cancelled.Notify();
  chain.join();
  EXPECT_EQ(seen.code(), absl::StatusCode::kCancelled);
  Shutdown(methods);
}

// The server's shutdown does not wait for a call its client cancelled, but the chain that holds
// it still answers, on the queue: Stop() waits for that answer before it shuts the queues down
// (gRPC aborts the process on an answer started on a queue that is shut down).
TEST_F(QueuedUnaryTest, StopWaitsForAChainStillHoldingACancelledCall) {
  QueuedUnaryMethods methods(
      {.threads = 1, .work = QueuedWork::kNeverBlocks, .watch_cancellation = true});
  absl::Notification started;
  absl::Mutex mu;
  std::optional<AsyncFinish> held;
  methods.HandleAsync<GetSessionRequest, Session>(
      kGetSession, [&](const CallerIdentity&, CallScope, const GetSessionRequest&, Session&,
                       AsyncFinish finish) {
        absl::MutexLock lock(&mu);
        held.emplace(std::move(finish));
        started.Notify();
      });
  Serve(methods);
  CallThenCancel(started);

  absl::Notification stopped;
  std::thread stopper([&] {
    Shutdown(methods);
    stopped.Notify();
  });
  // Still held: Stop() has not shut the queue down under the chain.
  EXPECT_FALSE(stopped.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  {
    absl::MutexLock lock(&mu);
    (*held)(absl::CancelledError("the client went away"));
  }
  stopper.join();
  EXPECT_TRUE(stopped.HasBeenNotified());
}

// A chain's peer call made on a polling thread comes back on that same thread; anywhere else
// CallOnQueue declines and leaves the completion to the caller.
TEST_F(QueuedUnaryTest, APeerCallFromAPollingThreadComesBackOnIt) {
  QueuedUnaryMethods methods({.threads = 2, .work = QueuedWork::kNeverBlocks});
  methods.Handle<GetSessionRequest, Session>(
      kGetSession,
      [](const CallerIdentity&, grpc::ServerContextBase&, const GetSessionRequest& request,
         Session& response) -> absl::Status {
        response.set_session_id(absl::StrCat("peer saw ", request.session_id()));
        return absl::OkStatus();
      });
  std::atomic<bool> same_thread{false};
  methods.HandleAsync<livecall::v1::EndSessionRequest, Session>(
      kEndSession, [&](const CallerIdentity&, CallScope, const livecall::v1::EndSessionRequest&,
                       Session& response, AsyncFinish finish) {
        struct Peer {
          grpc::ClientContext context;
          GetSessionRequest request;
          Session response;
        };
        auto peer = std::make_shared<Peer>();
        peer->request.set_session_id("s-peer");
        peer->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
        const std::thread::id caller = std::this_thread::get_id();
        std::function<void(grpc::Status)> done = [&, peer, caller, finish](grpc::Status status) {
          same_thread = std::this_thread::get_id() == caller;
          response = peer->response;
          finish(ToAbslStatus(status));
        };
        const bool queued = CallOnQueue(
            [&](grpc::CompletionQueue* queue) {
              return stub_->PrepareAsyncGetSession(&peer->context, peer->request, queue);
            },
            &peer->response, done);
        if (!queued) finish(absl::InternalError("not on a polling thread"));
      });
  Serve(methods);
  grpc::ClientContext context;
  livecall::v1::EndSessionRequest request;
  Session session;
  const grpc::Status status = stub_->EndSession(&context, request, &session);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(session.session_id(), "peer saw s-peer");
  EXPECT_TRUE(same_thread.load());

  // The test's own thread polls no queue.
  std::function<void(grpc::Status)> unused = [](grpc::Status) {};
  Session ignored;
  EXPECT_FALSE(CallOnQueue(
      [](grpc::CompletionQueue*)
          -> std::unique_ptr<grpc::ClientAsyncResponseReaderInterface<Session>> {
        ADD_FAILURE() << "prepared off a polling thread";
        return nullptr;
      },
      &ignored, unused));
  EXPECT_TRUE(static_cast<bool>(unused));  // Left to the caller.
  Shutdown(methods);
}

}  // namespace
}  // namespace livecall
