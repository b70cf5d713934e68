#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/support/files.h"
#include "tests/support/wait_for.h"

extern char** environ;

namespace livecall::testing {
namespace {

// Children to kill if the test binary dies from a signal (a crash, or ctest's timeout SIGTERM).
// Plain atomics so the handler stays async-signal-safe.
constexpr int kMaxChildren = 256;
std::array<std::atomic<pid_t>, kMaxChildren> live_children{};

void KillChildrenAndReraise(int signal_number) {
  for (std::atomic<pid_t>& slot : live_children) {
    pid_t pid = slot.load();
    if (pid > 0) kill(pid, SIGKILL);
  }
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

void InstallCrashHandlersOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE}) {
      struct sigaction action;
      std::memset(&action, 0, sizeof(action));
      action.sa_handler = KillChildrenAndReraise;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESETHAND;
      sigaction(signal_number, &action, nullptr);
    }
  });
}

void Register(pid_t pid) {
  for (std::atomic<pid_t>& slot : live_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void Unregister(pid_t pid) {
  for (std::atomic<pid_t>& slot : live_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

bool IsScrubbed(absl::string_view entry) {
  return absl::StartsWith(entry, "LIVECALL_") || absl::StartsWith(entry, "TWILIO_");
}

}  // namespace

ChildProcess::~ChildProcess() { Kill(); }

absl::Status ChildProcess::Start(const std::string& path, const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env,
                                 const std::string& log_path) {
  if (pid_ > 0 && Running()) {
    return absl::FailedPreconditionError(absl::StrCat(path_, " is already running"));
  }
  InstallCrashHandlersOnce();
  path_ = path;
  log_path_ = log_path;
  exited_ = false;
  wait_status_ = 0;

  std::vector<std::string> argv_storage = {path};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    std::string name(text.substr(0, text.find('=')));
    if (!IsScrubbed(text) && env.count(name) == 0) env_storage.emplace_back(text);
  }
  for (const auto& [name, value] : env) env_storage.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env_storage.size() + 1);
  for (std::string& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);

  // The child starts with no blocked signals and default dispositions, whatever the test runner
  // did to its own (services block SIGTERM themselves and take it with sigwait).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) {
    sigaddset(&default_signals, signal_number);
  }
  posix_spawnattr_setsigmask(&attributes, &empty_mask);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int error =
      absl::StrContains(path, '/')
          ? posix_spawn(&pid, path.c_str(), &actions, &attributes, argv.data(), envp.data())
          : posix_spawnp(&pid, path.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    pid_ = -1;
    return absl::InternalError(absl::StrCat("cannot start ", path, ": ", std::strerror(error)));
  }
  pid_ = pid;
  Register(pid_);
  return absl::OkStatus();
}

void ChildProcess::Reaped(int wait_status) {
  exited_ = true;
  wait_status_ = wait_status;
  Unregister(pid_);
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || exited_) return false;
  int wait_status = 0;
  pid_t result = waitpid(pid_, &wait_status, WNOHANG);
  if (result == pid_ || (result < 0 && errno == ECHILD)) {
    Reaped(wait_status);
    return false;
  }
  return true;
}

absl::Status ChildProcess::Signal(int signal_number) {
  if (!Running()) return absl::FailedPreconditionError(absl::StrCat(path_, " is not running"));
  if (kill(pid_, signal_number) != 0) {
    return absl::InternalError(absl::StrCat("kill ", pid_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ChildProcess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("process was never started");
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration interval = absl::Milliseconds(2);
  while (Running()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          path_, " (pid ", pid_, ") still running after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(interval);
    interval = std::min(interval * 2, absl::Milliseconds(50));
  }
  if (WIFEXITED(wait_status_)) return WEXITSTATUS(wait_status_);
  if (WIFSIGNALED(wait_status_)) {
    int signal_number = WTERMSIG(wait_status_);
    return absl::AbortedError(absl::StrCat(path_, " was killed by signal ", signal_number, " (",
                                           strsignal(signal_number), ")"));
  }
  return absl::UnknownError(absl::StrCat(path_, " ended with wait status ", wait_status_));
}

absl::Status ChildProcess::WaitUntilReady(absl::string_view name,
                                          const std::function<bool()>& ready,
                                          absl::Duration timeout, int log_lines) {
  bool exited = false;
  const bool answered = WaitFor(
      [&] {
        if (!Running()) {
          exited = true;
          return true;
        }
        return ready();
      },
      timeout);
  if (answered && !exited) return absl::OkStatus();
  std::string outcome = absl::StrCat("was not ready within ", absl::FormatDuration(timeout));
  if (exited) {
    absl::StatusOr<int> code = WaitForExit(absl::ZeroDuration());
    outcome = code.ok() ? absl::StrCat("exited with code ", *code) : code.status().ToString();
  }
  return absl::UnavailableError(
      absl::StrCat(name, " ", outcome, "; its log:\n", LogTail(log_lines)));
}

void ChildProcess::Kill() {
  if (!Running()) return;
  kill(pid_, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
  }
  Reaped(wait_status);
}

std::string ChildProcess::LogTail(int lines) const {
  std::string text = ReadFileOrEmpty(log_path_);
  std::vector<absl::string_view> all = absl::StrSplit(text, '\n', absl::SkipEmpty());
  const std::ptrdiff_t keep = std::min<std::ptrdiff_t>(std::max(lines, 0), all.size());
  return absl::StrJoin(all.end() - keep, all.end(), "\n");
}

}  // namespace livecall::testing
