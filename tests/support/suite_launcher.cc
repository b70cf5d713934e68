// livecall-test-suite: SuiteProcesses (suite_processes.h) as a command, for tests written in other
// languages (the TypeScript client's tests, the console's browser test). It starts a private Redis
// and the four real binaries on free ports, waits for the gateway's /readyz, prints one line of
// JSON — {"baseUrl":"http://127.0.0.1:<port>","logDir":"..."} — and keeps the suite running until
// its standard input closes (the test finished or died) or it gets SIGTERM/SIGINT; a line "logs"
// on its standard input prints the processes' last log lines to stderr. Then it stops
// every process and exits 0 only if each exited cleanly.
//
//   livecall-test-suite [NAME=VALUE ...]     extra environment for every process
//
// On a failed start it prints the processes' last log lines to stderr and exits 1.

#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/support/suite_processes.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void RequestStop(int) { stop_requested = 1; }

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  livecall::testing::SuiteOptions options;
  options.binaries = {.gateway = LIVECALL_GATEWAY_BIN,
                      .call_control = LIVECALL_CALL_CONTROL_BIN,
                      .ai_session = LIVECALL_AI_SESSION_BIN,
                      .context = LIVECALL_CONTEXT_BIN};
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    const size_t equals = argument.find('=');
    if (equals == std::string::npos || equals == 0) {
      std::fprintf(stderr, "usage: %s [NAME=VALUE ...]; bad argument \"%s\"\n", argv[0], argv[i]);
      return 2;
    }
    options.extra_env[argument.substr(0, equals)] = argument.substr(equals + 1);
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
  const std::string ready = absl::StrCat("{\"baseUrl\":", JsonString(suite.base_url()),
                                         ",\"adminUrl\":", JsonString(suite.admin_url()),
                                         ",\"logDir\":", JsonString(suite.log_dir()), "}\n");
  std::fputs(ready.c_str(), stdout);
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
    if (std::string(buffer, count).find("logs") != std::string::npos) {
      std::fprintf(stderr, "%s\n", suite.LogTails(40).c_str());
    }
  }

  if (absl::Status stopped = suite.StopAll(); !stopped.ok()) {
    std::fprintf(stderr, "the suite did not stop cleanly: %s\n%s\n", stopped.ToString().c_str(),
                 suite.LogTails().c_str());
    return 1;
  }
  return 0;
}
