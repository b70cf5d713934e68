// The fault soak: the whole suite as real processes (tests/support/suite_processes.h) under a
// steady load of session starts, turns, ends and placed calls, while faults are injected in turn:
// Redis stopped and started, Redis killed -9 and started (same data directory, append-only file
// with fsync on every write), and each service killed -9 and started again. At the end:
//  - zero lost accepted writes: every turn answered 2xx is in its session, in the order it was
//    accepted; every session whose end was answered 2xx is ended; every call answered 2xx exists;
//  - every process runs, /readyz answers 200, and each stops cleanly (SIGTERM, exit code 0).
//
// LIVECALL_SOAK_SECONDS sets how long the load runs (default 75: the short run of
// `tools/dev test`; `tools/dev soak MINUTES` runs the long one). Waiting for readiness is always
// polling; only the pacing of the load and of the faults uses durations.

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/support/http_client.h"
#include "tests/support/json.h"
#include "tests/support/status_matchers.h"
#include "tests/support/suite_processes.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::Call;
using ::livecall::v1::Session;
using ::testing::IsEmpty;

absl::Duration SoakDuration() {
  int seconds = 75;
  if (const char* text = std::getenv("LIVECALL_SOAK_SECONDS"); text != nullptr) {
    if (!absl::SimpleAtoi(text, &seconds) || seconds < 10) {
      ADD_FAILURE() << "LIVECALL_SOAK_SECONDS must be a number of seconds, at least 10";
      seconds = 75;
    }
  }
  return absl::Seconds(seconds);
}

// What the API accepted (answered 2xx), and what it refused, by the load generators.
class Ledger {
 public:
  void AcceptTurn(const std::string& session_id, const std::string& text) {
    absl::MutexLock lock(&mu_);
    turns_[session_id].push_back(text);
  }
  void AcceptEnd(const std::string& session_id) {
    absl::MutexLock lock(&mu_);
    ended_.push_back(session_id);
  }
  void AcceptCall(const std::string& call_sid) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(call_sid);
  }
  // One answer of `kind`: "2xx", the HTTP status, or "no answer".
  void Count(const std::string& kind, long status) {
    absl::MutexLock lock(&mu_);
    ++outcomes_[absl::StrCat(kind, " ",
                             status == 0                     ? "no-answer"
                             : status >= 200 && status < 300 ? "2xx"
                                                             : absl::StrCat(status))];
  }

  std::map<std::string, std::vector<std::string>> turns() {
    absl::MutexLock lock(&mu_);
    return turns_;
  }
  std::vector<std::string> ended() {
    absl::MutexLock lock(&mu_);
    return ended_;
  }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::map<std::string, int> outcomes() {
    absl::MutexLock lock(&mu_);
    return outcomes_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> turns_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> ended_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> outcomes_ ABSL_GUARDED_BY(mu_);
};

class FaultSoakTest : public ::testing::Test {
 protected:
  FaultSoakTest() : suite_(Options()) {}

  static SuiteOptions Options() {
    SuiteOptions options;
    options.binaries = {.gateway = LIVECALL_GATEWAY_BIN,
                        .call_control = LIVECALL_CALL_CONTROL_BIN,
                        .ai_session = LIVECALL_AI_SESSION_BIN,
                        .context = LIVECALL_CONTEXT_BIN};
    return options;
  }

  // As a supervisor (tests/support's BearerHeader), who may read and control every session and
  // call.
  HttpResponse Post(const std::string& path, const std::string& body,
                    std::map<std::string, std::string> headers = {}) {
    headers.merge(BearerHeader("soak-supervisor", "supervisor"));
    return HttpRequest("POST", suite_.base_url() + path, body, headers, absl::Seconds(5));
  }
  HttpResponse Get(const std::string& path) {
    return HttpRequest("GET", suite_.base_url() + path, "",
                       BearerHeader("soak-supervisor", "supervisor"), absl::Seconds(5));
  }

  // Session starts, ten turns and an end, over and over.
  void SessionLoad(int worker) {
    static constexpr const char* kPhones[] = {"+998901112233", "+998935550101", "+998977770707"};
    for (int n = 0; !stop_; ++n) {
      const HttpResponse started =
          Post("/ai/call/start", absl::StrCat(R"({"phoneNumber":")", kPhones[n % 3], R"("})"));
      ledger_.Count("start", started.status);
      absl::StatusOr<Session> session =
          started.status == 200 ? ParseJsonAs<Session>(started.body) : absl::StatusOr<Session>();
      if (started.status != 200 || !session.ok()) {
        Pace();
        continue;
      }
      const std::string path = "/ai/sessions/" + session->session_id();
      for (int k = 0; k < 10 && !stop_; ++k) {
        const std::string text = absl::StrCat("w", worker, " s", n, " t", k);
        const HttpResponse turn =
            Post(path + "/turns", absl::StrCat(R"({"speaker":")", k % 2 ? "agent" : "customer",
                                               R"(","text":")", text, R"("})"));
        ledger_.Count("turn", turn.status);
        if (turn.status >= 200 && turn.status < 300)
          ledger_.AcceptTurn(session->session_id(), text);
        Pace();
      }
      const HttpResponse ended = Post(path + "/end", R"({"disposition":"resolved"})");
      ledger_.Count("end", ended.status);
      if (ended.status >= 200 && ended.status < 300) ledger_.AcceptEnd(session->session_id());
    }
  }

  // Sandbox calls, each with an Idempotency-Key of its own.
  void CallLoad() {
    for (int n = 0; !stop_; ++n) {
      const HttpResponse placed = Post(
          "/api/voip/call", R"({"to":"+998901112233","text":"Salom"})",
          {{"Idempotency-Key", absl::StrCat("soak-", absl::ToUnixNanos(absl::Now()), "-", n)}});
      ledger_.Count("call", placed.status);
      if (placed.status == 200) {
        absl::StatusOr<Call> call = ParseJsonAs<Call>(placed.body);
        if (call.ok()) ledger_.AcceptCall(call->call_sid());
      }
      for (int i = 0; i < 5; ++i) Pace();
    }
  }

  // Steady, modest load: the machine is shared, and the point is faults, not throughput.
  static void Pace() { absl::SleepFor(absl::Milliseconds(20)); }

  // One fault, then the suite brought back; returns its name.
  std::string InjectFault(int index) {
    constexpr absl::Duration kDown = absl::Milliseconds(1500);
    switch (index % 6) {
      case 0: {
        EXPECT_THAT(suite_.redis().Stop(), IsOk());
        absl::SleepFor(kDown);
        EXPECT_THAT(suite_.redis().Start(), IsOk());
        return "redis stopped and started";
      }
      case 1: {
        EXPECT_THAT(suite_.redis().process().Signal(SIGKILL), IsOk());
        EXPECT_THAT(suite_.redis().process().WaitForExit(absl::Seconds(10)).status(),
                    StatusIs(absl::StatusCode::kAborted));
        absl::SleepFor(kDown);
        EXPECT_THAT(suite_.redis().Start(), IsOk());
        return "redis killed -9 and started";
      }
      default: {
        constexpr Service kVictims[] = {Service::kContext, Service::kAiSession,
                                        Service::kCallControl, Service::kGateway};
        const Service victim = kVictims[index % 6 - 2];
        EXPECT_THAT(suite_.process(victim).Signal(SIGKILL), IsOk());
        EXPECT_THAT(suite_.process(victim).WaitForExit(absl::Seconds(10)).status(),
                    StatusIs(absl::StatusCode::kAborted));
        absl::SleepFor(kDown);
        EXPECT_THAT(suite_.StartService(victim), IsOk());
        return absl::StrCat(ServiceName(victim), " killed -9 and started");
      }
    }
  }

  SuiteProcesses suite_;
  Ledger ledger_;
  std::atomic<bool> stop_{false};
};

TEST_F(FaultSoakTest, LosesNoAcceptedWriteAndEndsHealthy) {
  ASSERT_THAT(suite_.Start(), IsOk()) << suite_.LogTails();
  const absl::Duration duration = SoakDuration();
  // Six faults at least, one of each kind, evenly spread; more in a longer soak.
  const int fault_count = std::max(6, static_cast<int>(duration / absl::Seconds(12)));
  const absl::Duration fault_interval = duration / (fault_count + 1);

  std::vector<std::thread> load;
  for (int worker = 0; worker < 2; ++worker)
    load.emplace_back([this, worker] { SessionLoad(worker); });
  load.emplace_back([this] { CallLoad(); });

  const absl::Time start = absl::Now();
  std::vector<std::string> faults;
  for (int i = 0; i < fault_count; ++i) {
    absl::SleepFor(start + fault_interval * (i + 1) - absl::Now());
    faults.push_back(InjectFault(i));
    absl::Status ready = suite_.WaitUntilReady();
    EXPECT_THAT(ready, IsOk()) << "after " << faults.back() << "\n" << suite_.LogTails();
    std::cout << "[soak] " << absl::FormatDuration(absl::Now() - start) << ": " << faults.back()
              << "; ready again" << std::endl;
  }
  absl::SleepFor(start + duration - absl::Now());
  stop_ = true;
  for (std::thread& thread : load) thread.join();

  // Everything accepted is there.
  ASSERT_THAT(suite_.WaitUntilReady(), IsOk()) << suite_.LogTails();
  int accepted_turns = 0, lost_turns = 0, out_of_order = 0;
  const std::vector<std::string> ended = ledger_.ended();
  for (const auto& [session_id, texts] : ledger_.turns()) {
    HttpResponse read;
    EXPECT_TRUE(WaitFor(
        [&] {
          read = Get("/ai/sessions/" + session_id);
          return read.status == 200;
        },
        absl::Seconds(10)))
        << read;
    absl::StatusOr<Session> session = ParseJsonAs<Session>(read.body);
    ASSERT_THAT(session, IsOk()) << read;
    std::vector<std::string> stored;
    for (const auto& turn : session->conversation()) stored.push_back(turn.text());
    size_t next = 0;  // Accepted texts must appear in order (others may sit between them).
    for (const std::string& text : texts) {
      ++accepted_turns;
      auto found = std::find(stored.begin(), stored.end(), text);
      if (found == stored.end()) {
        ++lost_turns;
        ADD_FAILURE() << "lost accepted turn \"" << text << "\" of session " << session_id;
        continue;
      }
      const size_t at = static_cast<size_t>(found - stored.begin());
      if (at < next) ++out_of_order;
      next = at + 1;
    }
  }
  int ended_ok = 0;
  for (const std::string& session_id : ended) {
    const HttpResponse read = Get("/ai/sessions/" + session_id);
    absl::StatusOr<Session> session = ParseJsonAs<Session>(read.body);
    if (read.status == 200 && session.ok() && session->status() == "ended") {
      ++ended_ok;
    } else {
      ADD_FAILURE() << "session " << session_id << " was ended (2xx) but reads " << read;
    }
  }
  int calls_ok = 0;
  const std::vector<std::string> calls = ledger_.calls();
  for (const std::string& call_sid : calls) {
    const HttpResponse read = Get("/api/calls/" + call_sid);
    if (read.status == 200) {
      ++calls_ok;
    } else {
      ADD_FAILURE() << "call " << call_sid << " was accepted (2xx) but reads " << read;
    }
  }
  EXPECT_EQ(lost_turns, 0);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_GT(accepted_turns, 0);
  EXPECT_GT(calls.size(), 0u);

  // All processes healthy, and each stops cleanly.
  EXPECT_THAT(suite_.NotRunning(), IsEmpty());
  EXPECT_EQ(HttpRequest("GET", suite_.admin_url() + "/readyz").status, 200);

  std::vector<std::string> outcomes;
  for (const auto& [kind, count] : ledger_.outcomes()) {
    outcomes.push_back(absl::StrCat(kind, ": ", count));
  }
  std::cout << "[soak] " << absl::FormatDuration(duration) << " of load, " << faults.size()
            << " faults (" << absl::StrJoin(faults, ", ") << ")\n"
            << "[soak] answers: " << absl::StrJoin(outcomes, ", ") << "\n"
            << "[soak] accepted turns " << accepted_turns << " (lost " << lost_turns
            << ", out of order " << out_of_order << "), ended sessions " << ended_ok << "/"
            << ended.size() << ", calls " << calls_ok << "/" << calls.size() << std::endl;
  EXPECT_THAT(suite_.StopAll(), IsOk()) << suite_.LogTails();
}

}  // namespace
}  // namespace livecall::testing
