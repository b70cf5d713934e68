#ifndef LIVECALL_TESTS_INTEGRATION_SUITE_TEST_H_
#define LIVECALL_TESTS_INTEGRATION_SUITE_TEST_H_

// The base of every integration fixture: one SuiteProcesses (Redis + the four real binaries) per
// test suite, started in SetUpTestSuite and shared by the suite's tests, plus the few helpers that
// make the tests read as the REST contract does.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/support/http_client.h"
#include "tests/support/suite_processes.h"

namespace livecall::testing {

// The binaries built next to this test (compile definitions from CMake) and the sample data.
SuiteOptions IntegrationSuiteOptions();

class SuiteTest : public ::testing::Test {
 public:
  // The suite's default caller: a supervisor, who may read and control every call and session
  // (Get/Post below); the authorisation tests use agents' tokens explicitly.
  static constexpr char kSupervisor[] = "test-supervisor";

 protected:
  // Starts a suite for the fixture; a failure is reported by every test of the fixture.
  static void StartSuite(SuiteOptions options);
  static void StopSuite();
  static SuiteProcesses& suite() { return *suite_; }

  void SetUp() override;
  // Prints every process's last log lines when the test failed.
  void TearDown() override;

  // As kSupervisor.
  static HttpResponse Get(const std::string& path);
  static HttpResponse Post(const std::string& path, const std::string& body);

  // POST /ai/call/start for `phone_number`; fails the test unless the answer is a 200 Session.
  static void StartSession(const std::string& phone_number, livecall::v1::Session* session,
                           const std::string& path = "/ai/call/start");
  // POST /api/voip/call; fails the test unless the answer is a 200 Call.
  static void PlaceCall(const std::string& to, const std::string& text, livecall::v1::Call* call,
                        const std::string& path = "/api/voip/call");

  // Every process still runs and GET /healthz answers 200.
  static void ExpectSuiteHealthy();

 private:
  static inline SuiteProcesses* suite_ = nullptr;
  static inline absl::Status* start_status_ = nullptr;
};

// The response is an error with this HTTP status and a body {"error":{"code":<code>,"message":…}}
// with a non-empty message.
void ExpectErrorResponse(const HttpResponse& response, long http_status, const std::string& code);

// The statuses of a call's history, oldest first.
std::vector<std::string> HistoryStatuses(const livecall::v1::Call& call);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_INTEGRATION_SUITE_TEST_H_
