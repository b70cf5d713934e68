// /twilio/voice served as in production: the Voice RPC through a gRPC server on call-control's
// completion queues, its customer's AI session started by the real GrpcAiSessionClient over gRPC.
// The start is made on the polling thread's own queue (CallOnQueue), so its answer comes back to
// that thread and the webhook goes on there; these tests check that path with an ai-session that
// answers, is slow, is down, misses the client's deadline, and with call-control shutting down
// while a start is outstanding.

#include <grpcpp/grpcpp.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_server.h"
#include "common/request_id.h"
#include "common/status.h"
#include "livecall/v1/ai_session.grpc.pb.h"
#include "livecall/v1/twilio_webhooks.grpc.pb.h"
#include "tests/support/free_port.h"
#include "tests/support/wait_for.h"
#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::ParseXml;
using ::livecall::testing::WaitFor;
using ::testing::ElementsAre;

constexpr char kCustomer[] = "CAcccccccccccccccccccccccccccccccc";

// ai-session over gRPC with the timing the tests choose (the real one's timing cannot be held):
// StartSession answers session "S<n>" in Russian at once, or, while held, once released.
class ScriptedAiSession final : public livecall::v1::AiSession::Service {
 public:
  grpc::Status StartSession(grpc::ServerContext* context,
                            const livecall::v1::StartSessionRequest* request,
                            livecall::v1::Session* response) override {
    std::shared_ptr<absl::Notification> release;
    {
      absl::MutexLock lock(&mu_);
      ++arrived_;
      release = release_;
    }
    if (release != nullptr) release->WaitForNotificationWithTimeout(absl::Seconds(30));
    absl::MutexLock lock(&mu_);
    starts_.push_back(*request);
    auto id = context->client_metadata().find(kRequestIdMetadata);
    request_ids_.emplace_back(id == context->client_metadata().end()
                                  ? ""
                                  : std::string(id->second.data(), id->second.size()));
    response->set_session_id(absl::StrCat("S", starts_.size()));
    response->set_language("ru");
    return grpc::Status::OK;
  }

  // Starts from now on wait until Release().
  void Hold() {
    absl::MutexLock lock(&mu_);
    release_ = std::make_shared<absl::Notification>();
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    if (release_ != nullptr) release_->Notify();
    release_ = nullptr;
  }
  int Arrived() {
    absl::MutexLock lock(&mu_);
    return arrived_;
  }
  size_t Answered() {
    absl::MutexLock lock(&mu_);
    return starts_.size();
  }
  std::vector<std::string> RequestIds() {
    absl::MutexLock lock(&mu_);
    return request_ids_;
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<absl::Notification> release_ ABSL_GUARDED_BY(mu_);
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<livecall::v1::StartSessionRequest> starts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> request_ids_ ABSL_GUARDED_BY(mu_);
};

// <Say>, recording whether each line was rendered on a polling thread (the webhook went on where
// ai-session's answer came back) or elsewhere (the executor, after the 3 s wait).
class ThreadRecordingRenderer final : public SpeechRenderer {
 public:
  absl::StatusOr<TwimlElement> Render(const SpokenText& speech) override {
    {
      absl::MutexLock lock(&mu_);
      on_polling_thread_.push_back(OnPollingThread());
    }
    return say_.Render(speech);
  }
  std::vector<bool> OnPollingThreadEach() {
    absl::MutexLock lock(&mu_);
    return on_polling_thread_;
  }

 private:
  SayRenderer say_;
  absl::Mutex mu_;
  std::vector<bool> on_polling_thread_ ABSL_GUARDED_BY(mu_);
};

class ServedVoiceWebhookTest : public TwilioWebhookTest {
 protected:
  void SetUp() override {
    TwilioWebhookTest::SetUp();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &ai_port_);
    builder.RegisterService(&ai_session_);
    ai_server_ = builder.BuildAndStart();
    ASSERT_NE(ai_server_, nullptr);
  }

  void TearDown() override {
    StopCallControl();
    if (ai_server_ != nullptr) {
      ai_session_.Release();
      ai_server_->Shutdown();
    }
    TwilioWebhookTest::TearDown();
  }

  std::string AiAddress() const { return absl::StrCat("127.0.0.1:", ai_port_); }

  // Serves the webhooks on completion queues, with ai-session at `ai_address` under
  // `ai_deadline`.
  void ServeCallControl(const std::string& ai_address,
                        absl::Duration ai_deadline = absl::Seconds(5)) {
    ai_client_ =
        std::make_unique<GrpcAiSessionClient>(MakePeerChannel(ai_address, ""), ai_deadline);
    served_sessions_ = std::make_unique<CallSessions>(*store_, *ai_client_, executor_);
    unary_ = std::make_unique<QueuedUnaryMethods>(
        QueuedUnaryOptions{.threads = 2, .work = QueuedWork::kMayBlock});
    served_webhooks_ = std::make_unique<TwilioWebhookService>(
        provider_.get(), *store_, *served_sessions_, voice_agent_, renderer_, executor_, *unary_,
        TwilioWebhookOptions{.public_url = kPublicUrl, .caller_id = kCallerId});
    // Over TCP, as the gateway calls it: an in-process channel's calls end at Server::Shutdown.
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(served_webhooks_.get());
    unary_->AddTo(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    unary_->Start();
    stub_ = livecall::v1::TwilioWebhooks::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  // As main does at SIGTERM: the server's calls answered, then the queues drained, then the
  // executor.
  void StopCallControl() {
    if (server_ != nullptr) {
      server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      server_->Wait();
    }
    if (unary_ != nullptr) unary_->Stop();
    executor_.Drain();
    stub_ = nullptr;
    server_ = nullptr;
  }

  // A customer rings in from an Uzbek number (no agent is online): the TwiML.
  absl::StatusOr<std::string> CustomerRings(const std::string& request_id = "req-voice-1") {
    return Voice({{"CallSid", kCustomer},
                  {"From", "+998901112233"},
                  {"To", kCallerId},
                  {"CallStatus", "ringing"}},
                 request_id);
  }
  // An agent's browser calls an Uzbek number: the TwiML.
  absl::StatusOr<std::string> AgentDials() {
    return Voice({{"CallSid", kAgentLeg},
                  {"From", "client:agent_2Dalice"},
                  {"To", "+998 90 111 22 33"},
                  {"CallStatus", "ringing"},
                  {"Direction", "inbound"}},
                 "req-agent-1");
  }
  absl::StatusOr<std::string> Voice(
      std::initializer_list<std::pair<const std::string, std::string>> params,
      const std::string& request_id) {
    livecall::v1::TwilioWebhookRequest request;
    for (const auto& [name, value] : params) (*request.mutable_params())[name] = value;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    context.AddMetadata(kRequestIdMetadata, request_id);
    livecall::v1::TwimlResponse response;
    grpc::Status status = stub_->Voice(&context, request, &response);
    if (!status.ok()) return ToAbslStatus(status);
    return response.twiml();
  }

  // The busy line's text in `twiml`, the answer to a call no agent is online for.
  static std::string BusyLineOf(const std::string& twiml) {
    absl::StatusOr<::livecall::testing::XmlNode> parsed = ParseXml(twiml);
    EXPECT_THAT(parsed.status(), IsOk()) << twiml;
    if (!parsed.ok()) return "";
    EXPECT_THAT(parsed->ChildNames(), ElementsAre("Say", "Hangup")) << twiml;
    return parsed->children.empty() ? "" : parsed->children[0].text;
  }

  ScriptedAiSession ai_session_;
  int ai_port_ = 0;
  std::unique_ptr<grpc::Server> ai_server_;
  ThreadRecordingRenderer renderer_;
  // In the order they are made; destroyed after StopCallControl, the client last (it waits for
  // gRPC to release its calls).
  std::unique_ptr<GrpcAiSessionClient> ai_client_;
  std::unique_ptr<CallSessions> served_sessions_;
  std::unique_ptr<QueuedUnaryMethods> unary_;
  std::unique_ptr<TwilioWebhookService> served_webhooks_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<livecall::v1::TwilioWebhooks::Stub> stub_;
};

TEST_F(ServedVoiceWebhookTest, TheSessionsAnswerComesBackToThePollingThreadThatAskedForIt) {
  ServeCallControl(AiAddress());
  absl::StatusOr<std::string> twiml = CustomerRings("req-voice-1");
  ASSERT_THAT(twiml.status(), IsOk());
  // In the session's language: the session came, and the call was written with it.
  EXPECT_EQ(BusyLineOf(*twiml), VoiceAgentBusyLine("ru"));
  EXPECT_EQ(store_->Get(kCustomer)->session_id(), "S1");
  EXPECT_EQ(store_->Get(kCustomer)->language(), "ru");
  // The webhook went on where the answer came back: a polling thread, not the executor.
  EXPECT_THAT(renderer_.OnPollingThreadEach(), ElementsAre(true));
  EXPECT_THAT(ai_session_.RequestIds(), ElementsAre("req-voice-1"));
}

TEST_F(ServedVoiceWebhookTest, ASlowAiSessionIsAnsweredWithoutAndRecordedWhenItComes) {
  // A deadline far past the webhook's 3 s wait: the start is slow, not given up on.
  ServeCallControl(AiAddress(), /*ai_deadline=*/absl::Seconds(30));
  ai_session_.Hold();
  absl::StatusOr<std::string> twiml = CustomerRings();
  ASSERT_THAT(twiml.status(), IsOk());
  // Answered after the 3 s wait (on the executor), in the number's language, without a session.
  EXPECT_EQ(BusyLineOf(*twiml), VoiceAgentBusyLine("uz"));
  EXPECT_THAT(renderer_.OnPollingThreadEach(), ElementsAre(false));
  EXPECT_EQ(ai_session_.Answered(), 0u);
  EXPECT_EQ(store_->Get(kCustomer)->session_id(), "");
  ai_session_.Release();
  ASSERT_TRUE(
      WaitFor([&] { return store_->Get(kCustomer)->session_id() == "S1"; }, absl::Seconds(10)));
  EXPECT_EQ(store_->Get(kCustomer)->language(), "ru");
}

TEST_F(ServedVoiceWebhookTest, ADownAiSessionLeavesTheCallWithoutASession) {
  ServeCallControl(absl::StrCat("127.0.0.1:", livecall::testing::FreeTcpPort()));
  absl::StatusOr<std::string> twiml = CustomerRings();
  ASSERT_THAT(twiml.status(), IsOk());
  EXPECT_EQ(BusyLineOf(*twiml), VoiceAgentBusyLine("uz"));
  // The failure came back on the polling thread, which went on at once.
  EXPECT_THAT(renderer_.OnPollingThreadEach(), ElementsAre(true));
  absl::StatusOr<livecall::v1::Call> call = store_->Get(kCustomer);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->session_id(), "");
  EXPECT_EQ(call->status(), livecall::v1::CALL_STATUS_RINGING);
}

TEST_F(ServedVoiceWebhookTest, AStartPastTheClientsDeadlineIsNotRecorded) {
  ServeCallControl(AiAddress(), /*ai_deadline=*/absl::Milliseconds(200));
  ai_session_.Hold();
  absl::StatusOr<std::string> twiml = CustomerRings();
  ASSERT_THAT(twiml.status(), IsOk());
  EXPECT_EQ(BusyLineOf(*twiml), VoiceAgentBusyLine("uz"));
  // DEADLINE_EXCEEDED came back on the polling thread, before the webhook's own 3 s wait.
  EXPECT_THAT(renderer_.OnPollingThreadEach(), ElementsAre(true));
  // ai-session answers after all: too late, the client has given up on it.
  ai_session_.Release();
  ASSERT_TRUE(WaitFor([&] { return ai_session_.Answered() == 1; }, absl::Seconds(10)));
  StopCallControl();
  EXPECT_EQ(store_->Get(kCustomer)->session_id(), "");
}

// SIGTERM while a customer's session start is outstanding: the webhook is answered (after the
// 3 s wait), the queues are drained only once the start has come back, and the session that
// came then is still recorded on the call.
TEST_F(ServedVoiceWebhookTest, ShutdownWithAStartOutstandingAnswersAndRecordsTheSession) {
  ServeCallControl(AiAddress(), /*ai_deadline=*/absl::Seconds(30));
  ai_session_.Hold();
  absl::StatusOr<std::string> twiml;
  std::thread webhook([&] { twiml = CustomerRings(); });
  ASSERT_TRUE(WaitFor([&] { return ai_session_.Arrived() == 1; }, absl::Seconds(10)));
  absl::Notification stopped;
  std::thread stop([&] {
    StopCallControl();
    stopped.Notify();
  });
  webhook.join();
  ASSERT_THAT(twiml.status(), IsOk());
  EXPECT_EQ(BusyLineOf(*twiml), VoiceAgentBusyLine("uz"));
  // The queues are still drained while the start is outstanding.
  EXPECT_FALSE(stopped.HasBeenNotified());
  ai_session_.Release();
  stop.join();
  // Recorded on the executor, drained by StopCallControl.
  EXPECT_EQ(store_->Get(kCustomer)->session_id(), "S1");
}

// An agent's browser call: its session is recorded on the call where ai-session's answer came
// back, and the TwiML is in the session's language, even with every executor worker busy (the
// start needs no thread of any pool: it used to need one of session_start_threads).
TEST_F(ServedVoiceWebhookTest, ABrowserCallsSessionNeedsNoExecutorWorker) {
  ServeCallControl(AiAddress());
  // Shared with the workers, which may still be waking inside WaitForNotification when the test
  // returns.
  auto release_workers = std::make_shared<absl::Notification>();
  auto workers_busy = std::make_shared<absl::BlockingCounter>(2);  // The executor has two workers.
  for (int i = 0; i < 2; ++i) {
    executor_.Submit([release_workers, workers_busy] {
      workers_busy->DecrementCount();
      release_workers->WaitForNotification();
    });
  }
  workers_busy->Wait();
  absl::StatusOr<std::string> twiml = AgentDials();
  release_workers->Notify();
  ASSERT_THAT(twiml.status(), IsOk());
  absl::StatusOr<::livecall::testing::XmlNode> response = ParseXml(*twiml);
  ASSERT_THAT(response.status(), IsOk()) << *twiml;
  ASSERT_THAT(response->ChildNames(), ElementsAre("Start", "Dial"));
  EXPECT_EQ(response->children[0].Child("Transcription")->Attr("languageCode"), "ru-RU");
  absl::StatusOr<livecall::v1::Call> call = store_->GetByAnyLeg(kAgentLeg);
  ASSERT_THAT(call.status(), IsOk());
  EXPECT_EQ(call->session_id(), "S1");
  EXPECT_THAT(ai_session_.RequestIds(), ElementsAre("req-agent-1"));
}

// A browser call whose AI session is slow is answered after the 3 s wait, in the number's
// language, and a retry of the webhook gets the same answer; the session is recorded when it
// comes.
TEST_F(ServedVoiceWebhookTest, ASlowSessionOfABrowserCallIsRecordedWhenItComes) {
  ServeCallControl(AiAddress(), /*ai_deadline=*/absl::Seconds(30));
  ai_session_.Hold();
  absl::StatusOr<std::string> twiml = AgentDials();
  ASSERT_THAT(twiml.status(), IsOk());
  absl::StatusOr<::livecall::testing::XmlNode> response = ParseXml(*twiml);
  ASSERT_THAT(response.status(), IsOk()) << *twiml;
  ASSERT_THAT(response->ChildNames(), ElementsAre("Start", "Dial"));
  EXPECT_EQ(response->children[0].Child("Transcription")->Attr("languageCode"), "uz-UZ");
  absl::StatusOr<std::string> retry = AgentDials();
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_EQ(*retry, *twiml);
  ai_session_.Release();
  ASSERT_TRUE(WaitFor([&] { return store_->GetByAnyLeg(kAgentLeg)->session_id() == "S1"; },
                      absl::Seconds(10)));
  EXPECT_EQ(ai_session_.Answered(), 1u);
}

// From a thread that polls no queue (a test, a background task), the start falls back to gRPC's
// callback API and still answers.
TEST_F(ServedVoiceWebhookTest, AStartFromAnotherThreadIsAnsweredThroughTheCallbackApi) {
  GrpcAiSessionClient client(MakePeerChannel(AiAddress(), ""), absl::Seconds(5));
  livecall::v1::StartSessionRequest request;
  request.set_call_sid(kCustomer);
  request.set_phone_number("+998901112233");
  request.set_direction("inbound");
  absl::Notification answered;
  absl::StatusOr<livecall::v1::Session> session;
  bool answered_on_polling_thread = true;
  client.StartSessionAsync(request, "req-other-thread",
                           [&](absl::StatusOr<livecall::v1::Session> started) {
                             session = std::move(started);
                             answered_on_polling_thread = OnPollingThread();
                             answered.Notify();
                           });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_EQ(session->session_id(), "S1");
  EXPECT_FALSE(answered_on_polling_thread);
  EXPECT_THAT(ai_session_.RequestIds(), ElementsAre("req-other-thread"));
}

}  // namespace
}  // namespace livecall::call_control
