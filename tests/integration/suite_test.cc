#include "tests/integration/suite_test.h"

#include <iostream>

#include "common/enum_json.h"
#include "gmock/gmock.h"
#include "livecall/v1/ai_session.pb.h"
#include "tests/support/json.h"
#include "tests/support/status_matchers.h"

namespace livecall::testing {

using ::testing::IsEmpty;
using ::testing::Not;

SuiteOptions IntegrationSuiteOptions() {
  SuiteOptions options;
  options.binaries.gateway = LIVECALL_GATEWAY_BIN;
  options.binaries.call_control = LIVECALL_CALL_CONTROL_BIN;
  options.binaries.ai_session = LIVECALL_AI_SESSION_BIN;
  options.binaries.context = LIVECALL_CONTEXT_BIN;
  return options;
}

void SuiteTest::StartSuite(SuiteOptions options) {
  suite_ = new SuiteProcesses(std::move(options));
  start_status_ = new absl::Status(suite_->Start());
}

void SuiteTest::StopSuite() {
  delete suite_;
  suite_ = nullptr;
  delete start_status_;
  start_status_ = nullptr;
}

void SuiteTest::SetUp() {
  ASSERT_NE(suite_, nullptr) << "the fixture's SetUpTestSuite must call StartSuite";
  ASSERT_THAT(*start_status_, IsOk()) << "the suite did not start";
}

void SuiteTest::TearDown() {
  if (HasFailure() && suite_ != nullptr) {
    std::cerr << "Last log lines (all logs in " << suite_->log_dir()
              << ", kept with LIVECALL_TEST_KEEP_TMP=1):\n"
              << suite_->LogTails(25);
  }
}

HttpResponse SuiteTest::Get(const std::string& path) {
  return HttpRequest("GET", suite_->base_url() + path, "", BearerHeader(kSupervisor, "supervisor"));
}

HttpResponse SuiteTest::Post(const std::string& path, const std::string& body) {
  return HttpRequest("POST", suite_->base_url() + path, body,
                     BearerHeader(kSupervisor, "supervisor"));
}

void SuiteTest::StartSession(const std::string& phone_number, livecall::v1::Session* session,
                             const std::string& path) {
  HttpResponse response = Post(path, R"({"phoneNumber":")" + phone_number + R"("})");
  ASSERT_EQ(response.status, 200) << response;
  ASSERT_THAT(ParseJsonMessage(response.body, session), IsOk());
  ASSERT_THAT(session->session_id(), Not(IsEmpty()));
}

void SuiteTest::PlaceCall(const std::string& to, const std::string& text, livecall::v1::Call* call,
                          const std::string& path) {
  HttpResponse response = Post(path, R"({"to":")" + to + R"(","text":")" + text + R"("})");
  ASSERT_EQ(response.status, 200) << response;
  ASSERT_THAT(ParseJsonMessage(response.body, call), IsOk());
  ASSERT_THAT(call->call_sid(), Not(IsEmpty()));
}

void SuiteTest::ExpectSuiteHealthy() {
  EXPECT_THAT(suite_->NotRunning(), IsEmpty()) << "a process stopped";
  HttpResponse health = Get("/healthz");
  EXPECT_EQ(health.status, 200) << health;
}

void ExpectErrorResponse(const HttpResponse& response, long http_status, const std::string& code) {
  EXPECT_EQ(response.status, http_status) << response;
  absl::StatusOr<google::protobuf::Value> json = ParseJson(response.body);
  ASSERT_THAT(json, IsOk()) << "the error body is not JSON: " << response;
  EXPECT_EQ(JsonString(*json, {"error", "code"}), code) << response;
  EXPECT_THAT(JsonString(*json, {"error", "message"}), Not(IsEmpty())) << response;
}

std::vector<std::string> HistoryStatuses(const livecall::v1::Call& call) {
  std::vector<std::string> statuses;
  for (const livecall::v1::CallEvent& event : call.history()) {
    statuses.push_back(EnumJsonName(event.status()));
  }
  return statuses;
}

}  // namespace livecall::testing
