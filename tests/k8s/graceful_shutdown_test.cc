// What a rolling update does to a pod: SIGTERM while requests are in flight. The requests must
// finish and the process must exit 0 (Kubernetes waits terminationGracePeriodSeconds, then kills).
// The requests are held in flight for certain, not by timing: the LLM behind ai-session is a fake
// that answers only when the test lets it, after both the gateway and ai-session have received
// SIGTERM and started draining.

#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/support/files.h"
#include "tests/support/http_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/suite_processes.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

constexpr int kInFlight = 6;

bool Draining(ChildProcess& process) {
  return absl::StrContains(ReadFileOrEmpty(process.log_path()), "\"msg\":\"draining\"");
}

TEST(GracefulShutdownTest, InFlightRequestsFinishAfterSigtermAndEveryProcessExitsZero) {
  absl::Notification release;
  fakes::FakeHttpServer llm([&release](const fakes::FakeRequest&) {
    // Bounded, so that a failing test cannot hang: far longer than the test needs.
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
    fakes::FakeResponse response;
    response.status = 503;  // ai-session falls back to its embedded greeting.
    response.chunks = {R"({"error":"busy"})"};
    return response;
  });
  LIVECALL_ASSERT_OK(llm.Start());

  SuiteOptions options;
  options.binaries = {.gateway = LIVECALL_GATEWAY_BIN,
                      .call_control = LIVECALL_CALL_CONTROL_BIN,
                      .ai_session = LIVECALL_AI_SESSION_BIN,
                      .context = LIVECALL_CONTEXT_BIN};
  options.extra_env = {{"LIVECALL_LLM_BASE_URL", llm.base_url()},
                       {"LIVECALL_LLM_GREETING_DEADLINE_MS", "60000"},
                       {"LIVECALL_LLM_SUGGESTION_DEADLINE_MS", "60000"},
                       {"LIVECALL_GRPC_DEADLINE_MS", "60000"},
                       {"LIVECALL_WORKER_THREADS", "16"}};
  SuiteProcesses suite(options);
  LIVECALL_ASSERT_OK(suite.Start());

  std::vector<HttpResponse> responses(kInFlight);
  std::vector<std::thread> clients;
  for (int i = 0; i < kInFlight; ++i) {
    clients.emplace_back([&, i] {
      responses[i] = HttpRequest(
          "POST", suite.base_url() + "/ai/call/start", R"({"phoneNumber":"+998901112233"})",
          {{"X-Request-Id", absl::StrCat("shutdown-", i)},
           {"Authorization", absl::StrCat("Bearer ", TestToken("shutdown-agent"))}},
          absl::Seconds(60));
    });
  }
  // Every request is inside ai-session, waiting for the LLM.
  const bool all_in_flight =
      WaitFor([&] { return llm.requests().size() >= kInFlight; }, absl::Seconds(20));
  if (!all_in_flight) release.Notify();
  ASSERT_TRUE(all_in_flight) << llm.requests().size() << " of " << kInFlight << "\n"
                             << suite.LogTails();

  ChildProcess& gateway = suite.process(Service::kGateway);
  ChildProcess& ai_session = suite.process(Service::kAiSession);
  EXPECT_THAT(gateway.Signal(SIGTERM), IsOk());
  EXPECT_THAT(ai_session.Signal(SIGTERM), IsOk());
  const bool draining =
      WaitFor([&] { return Draining(gateway) && Draining(ai_session); }, absl::Seconds(10));
  // Both are draining with work outstanding: neither may have exited yet.
  EXPECT_TRUE(draining) << suite.LogTails();
  EXPECT_TRUE(gateway.Running());
  EXPECT_TRUE(ai_session.Running());
  // A draining gateway stops taking connections (once its listener is closed).
  EXPECT_TRUE(WaitFor(
      [&] {
        return HttpRequest("GET", suite.base_url() + "/healthz", "", {}, absl::Seconds(2)).status ==
               0;
      },
      absl::Seconds(10)));

  release.Notify();
  for (std::thread& client : clients) client.join();
  for (int i = 0; i < kInFlight; ++i) {
    EXPECT_EQ(responses[i].status, 200) << "request " << i << ": " << responses[i];
    EXPECT_TRUE(absl::StrContains(responses[i].body, "\"sessionId\"")) << responses[i];
  }

  for (ChildProcess* process : {&gateway, &ai_session}) {
    absl::StatusOr<int> code = process->WaitForExit(absl::Seconds(15));
    ASSERT_TRUE(code.ok()) << code.status() << "\n" << process->LogTail();
    EXPECT_EQ(*code, 0) << process->LogTail();
  }
  EXPECT_THAT(suite.StopService(Service::kCallControl), IsOk());
  EXPECT_THAT(suite.StopService(Service::kContext), IsOk());
  EXPECT_THAT(suite.redis().Stop(), IsOk());
  llm.Stop();
}

}  // namespace
}  // namespace livecall::testing
