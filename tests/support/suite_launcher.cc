// livecall-test-suite: SuiteProcesses (suite_processes.h) as a command, for tests written in other
// languages (the TypeScript client's tests, the console's browser test). It starts a private Redis
// and the four real binaries on free ports, waits for the gateway's /readyz, prints one line of
// JSON — {"baseUrl":"http://127.0.0.1:<port>","logDir":"..."} — and keeps the suite running until
// its standard input closes (the test finished or died) or it gets SIGTERM/SIGINT; a line "logs"
// on its standard input prints the processes' last log lines to stderr. Then it stops
// every process and exits 0 only if each exited cleanly.
//
//   livecall-test-suite [--fake-twilio] [NAME=VALUE ...]     extra environment for every process
//
// --fake-twilio runs the suite in Twilio mode against FakeTwilio (tests/fakes/fake_twilio.h),
// started in this process: every process gets the TWILIO_* variables naming it and
// LIVECALL_PUBLIC_URL (NAME=VALUE arguments win), and the JSON line gains "twilio": {apiBaseUrl,
// accountSid, authToken, applicationSid, publicUrl}, so the test can play Twilio's side of the
// webhooks (signed with authToken for publicUrl + path). A line "twilio" on standard input prints
// one line of JSON to standard output: {"requests":[{operationId, method, path, pathParams,
// fields:[[name, value], ...]}, ...], "violations":[...]}, FakeTwilio's record so far.
//
// On a failed start it prints the processes' last log lines to stderr and exits 1.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/support/suite_processes.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void RequestStop(int) { stop_requested = 1; }

// What --fake-twilio configures: FakeTwilio's default credentials and made-up identifiers.
constexpr char kTwilioAccountSid[] = "AC00000000000000000000000000000000";
constexpr char kTwilioApiKeySid[] = "SK00000000000000000000000000000000";
constexpr char kTwilioApiKeySecret[] = "fake-api-key-secret";
constexpr char kTwilioAuthToken[] = "suite-launcher-twilio-auth-token";
constexpr char kTwilioApplicationSid[] = "AP00000000000000000000000000000000";
constexpr char kTwilioCallerId[] = "+998712000000";
constexpr char kPublicUrl[] = "https://livecall.example.com";

google::protobuf::Value StringValue(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  return value;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

// FakeTwilio's record as one line of JSON (see the usage above).
std::string TwilioRecordJson(const livecall::fakes::FakeTwilio& twilio) {
  google::protobuf::Struct record;
  google::protobuf::ListValue* requests =
      (*record.mutable_fields())["requests"].mutable_list_value();
  for (const livecall::fakes::TwilioApiRequest& request : twilio.Requests()) {
    google::protobuf::Struct* entry = requests->add_values()->mutable_struct_value();
    auto& fields = *entry->mutable_fields();
    fields["operationId"] = StringValue(request.operation_id);
    fields["method"] = StringValue(request.method);
    fields["path"] = StringValue(request.path);
    auto& path_params = *fields["pathParams"].mutable_struct_value()->mutable_fields();
    for (const auto& [name, value] : request.path_params) path_params[name] = StringValue(value);
    google::protobuf::ListValue* form = fields["fields"].mutable_list_value();
    for (const auto& [name, value] : request.fields) {
      google::protobuf::ListValue* pair = form->add_values()->mutable_list_value();
      *pair->add_values() = StringValue(name);
      *pair->add_values() = StringValue(value);
    }
  }
  google::protobuf::ListValue* violations =
      (*record.mutable_fields())["violations"].mutable_list_value();
  for (const std::string& violation : twilio.Violations()) {
    *violations->add_values() = StringValue(violation);
  }
  return ToJson(record);
}

}  // namespace

int main(int argc, char** argv) {
  livecall::testing::SuiteOptions options;
  options.binaries = {.gateway = LIVECALL_GATEWAY_BIN,
                      .call_control = LIVECALL_CALL_CONTROL_BIN,
                      .ai_session = LIVECALL_AI_SESSION_BIN,
                      .context = LIVECALL_CONTEXT_BIN};
  std::unique_ptr<livecall::fakes::FakeTwilio> twilio;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--fake-twilio") {
      twilio = std::make_unique<livecall::fakes::FakeTwilio>();
      continue;
    }
    const size_t equals = argument.find('=');
    if (equals == std::string::npos || equals == 0) {
      std::fprintf(stderr, "usage: %s [NAME=VALUE ...]; bad argument \"%s\"\n", argv[0], argv[i]);
      return 2;
    }
    options.extra_env[argument.substr(0, equals)] = argument.substr(equals + 1);
  }

  if (twilio != nullptr) {
    if (absl::Status started = twilio->Start(); !started.ok()) {
      std::fprintf(stderr, "FakeTwilio did not start: %s\n", started.ToString().c_str());
      return 1;
    }
    const std::map<std::string, std::string> twilio_env = {
        {"TWILIO_ACCOUNT_SID", kTwilioAccountSid},
        {"TWILIO_AUTH_TOKEN", kTwilioAuthToken},
        {"TWILIO_API_KEY_SID", kTwilioApiKeySid},
        {"TWILIO_API_KEY_SECRET", kTwilioApiKeySecret},
        {"TWILIO_TWIML_APP_SID", kTwilioApplicationSid},
        {"TWILIO_CALLER_ID", kTwilioCallerId},
        {"TWILIO_API_BASE_URL", twilio->base_url()},
        {"LIVECALL_PUBLIC_URL", kPublicUrl},
    };
    // emplace keeps what the command line set.
    for (const auto& [name, value] : twilio_env) options.extra_env.emplace(name, value);
  }

  struct sigaction action = {};
  action.sa_handler = RequestStop;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  livecall::testing::SuiteProcesses suite(options);
  if (absl::Status started = suite.Start(); !started.ok()) {
    std::fprintf(stderr, "the suite did not start: %s\n%s\n", started.ToString().c_str(),
                 suite.LogTails().c_str());
    return 1;
  }
  google::protobuf::Struct ready;
  auto& ready_fields = *ready.mutable_fields();
  ready_fields["baseUrl"] = StringValue(suite.base_url());
  ready_fields["adminUrl"] = StringValue(suite.admin_url());
  ready_fields["logDir"] = StringValue(suite.log_dir());
  if (twilio != nullptr) {
    auto& twilio_fields = *ready_fields["twilio"].mutable_struct_value()->mutable_fields();
    twilio_fields["apiBaseUrl"] = StringValue(twilio->base_url());
    twilio_fields["accountSid"] = StringValue(options.extra_env.at("TWILIO_ACCOUNT_SID"));
    twilio_fields["authToken"] = StringValue(options.extra_env.at("TWILIO_AUTH_TOKEN"));
    twilio_fields["applicationSid"] = StringValue(options.extra_env.at("TWILIO_TWIML_APP_SID"));
    twilio_fields["publicUrl"] = StringValue(options.extra_env.at("LIVECALL_PUBLIC_URL"));
  }
  const std::string ready_line = ToJson(ready) + "\n";
  std::fputs(ready_line.c_str(), stdout);
  std::fflush(stdout);

  // Until stdin reaches end of file (or errors) or a signal asks to stop; the poll timeout only
  // bounds how late a signal is noticed.
  char buffer[256];
  while (!stop_requested) {
    pollfd input = {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
    const int ready_count = poll(&input, 1, 200);
    if (ready_count < 0) continue;  // EINTR: the loop condition sees the signal.
    if (ready_count == 0) continue;
    const ssize_t count = read(STDIN_FILENO, buffer, sizeof buffer);
    if (count <= 0) break;
    // "logs" on stdin: the test failed and wants the processes' last log lines.
    const std::string commands(buffer, count);
    if (commands.find("logs") != std::string::npos) {
      std::fprintf(stderr, "%s\n", suite.LogTails(40).c_str());
    }
    // "twilio": FakeTwilio's record, one line on stdout.
    if (twilio != nullptr && commands.find("twilio") != std::string::npos) {
      std::fputs((TwilioRecordJson(*twilio) + "\n").c_str(), stdout);
      std::fflush(stdout);
    }
  }

  if (absl::Status stopped = suite.StopAll(); !stopped.ok()) {
    std::fprintf(stderr, "the suite did not stop cleanly: %s\n%s\n", stopped.ToString().c_str(),
                 suite.LogTails().c_str());
    return 1;
  }
  return 0;
}
