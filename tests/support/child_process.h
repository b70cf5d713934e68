#ifndef LIVECALL_TESTS_SUPPORT_CHILD_PROCESS_H_
#define LIVECALL_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall::testing {

// A real process started by a test: a service binary or redis-server. Its stdout and stderr are
// appended to a log file, so a failing test can print the last lines (LogTail). The destructor
// kills a process that is still running; if the test binary itself dies from a signal, every
// child still running is killed first, so no server outlives its test.
//
// Not thread-safe: one test thread owns a ChildProcess.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts `path` (a bare name is looked up in PATH) with `args` as argv[1..]. The environment is
  // this process's without any LIVECALL_* or TWILIO_* variable (so a developer's shell cannot
  // change what a test runs against), plus `env`. stdin is /dev/null.
  absl::Status Start(const std::string& path, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, const std::string& log_path);

  // True while the process has not exited. Reaps it when it has.
  bool Running();

  absl::Status Signal(int signal_number);

  // The exit code once the process exits; DEADLINE_EXCEEDED if it is still running after
  // `timeout`, ABORTED if a signal killed it, FAILED_PRECONDITION if it was never started.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);

  // Polls `ready` (WaitFor) until it is true while the process runs. UNAVAILABLE, naming the
  // process `name` and carrying the last `log_lines` lines of its log, when the process exits first
  // or `ready` is still false after `timeout`.
  absl::Status WaitUntilReady(absl::string_view name, const std::function<bool()>& ready,
                              absl::Duration timeout, int log_lines = 30);

  // SIGKILL and reap; nothing when not running.
  void Kill();

  pid_t pid() const { return pid_; }
  const std::string& path() const { return path_; }
  const std::string& log_path() const { return log_path_; }

  // The last `lines` lines of the log file.
  std::string LogTail(int lines = 30) const;

 private:
  // Records the result of waitpid for a reaped child.
  void Reaped(int wait_status);

  pid_t pid_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
  std::string path_;
  std::string log_path_;
};

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_CHILD_PROCESS_H_
