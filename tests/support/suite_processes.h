#ifndef LIVECALL_TESTS_SUPPORT_SUITE_PROCESSES_H_
#define LIVECALL_TESTS_SUPPORT_SUITE_PROCESSES_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/child_process.h"
#include "tests/support/redis_server.h"

namespace livecall::testing {

enum class Service { kContext, kAiSession, kCallControl, kGateway };

// In start order: each service starts after the ones it dials.
inline constexpr std::array<Service, 4> kAllServices = {Service::kContext, Service::kAiSession,
                                                        Service::kCallControl, Service::kGateway};
inline constexpr std::array<Service, 3> kGrpcServices = {Service::kContext, Service::kAiSession,
                                                         Service::kCallControl};

// "context", "ai-session", "call-control", "gateway".
absl::string_view ServiceName(Service service);

// The credentials every suite runs with (auth is on, as in production).
// HS256 secret of the gateway (LIVECALL_JWT_SECRET): tests sign agents' tokens with it.
inline constexpr char kTestJwtSecret[] = "suite-test-jwt-secret-0123456789abcdef";
// The key a test sends when it calls a gRPC service directly (LIVECALL_GRPC_API_KEYS "test:...").
inline constexpr char kTestGrpcApiKey[] = "suite-test-grpc-key-for-tests";
// The key each service sends to its peers (LIVECALL_GRPC_API_KEY), all accepted by every service.
std::string ServiceApiKey(Service service);

// A bearer token signed with kTestJwtSecret: `sub` = agent_id, the role, exp = now + ttl.
std::string TestToken(const std::string& agent_id, const std::string& role = "agent",
                      absl::Duration ttl = absl::Hours(1));
// {"Authorization": "Bearer <TestToken(...)>"}.
std::map<std::string, std::string> BearerHeader(const std::string& agent_id,
                                                const std::string& role = "agent");

// Where the four executables are; the test target passes $<TARGET_FILE:...> as definitions.
struct SuiteBinaries {
  std::string gateway;
  std::string call_control;
  std::string ai_session;
  std::string context;
};

struct SuiteOptions {
  SuiteBinaries binaries;
  // Empty: data/customers.json and data/kb.json of the source tree.
  std::string customers_file;
  std::string kb_file;
  // The sandbox call timers, short so a whole call lifecycle takes well under a second.
  absl::Duration sandbox_ring = absl::Milliseconds(150);
  absl::Duration sandbox_answer = absl::Milliseconds(150);
  absl::Duration sandbox_talk = absl::Milliseconds(200);
  int64_t http_body_limit_bytes = 65536;
  std::string log_level = "info";
  // More variables for every process (they win over the ones above).
  std::map<std::string, std::string> extra_env;
  // How long one process, or the whole suite, may take to become ready.
  absl::Duration ready_timeout = absl::Seconds(20);
};

// The whole suite as real processes: a private Redis and the four binaries, each on a free port
// of 127.0.0.1, configured through the environment exactly as in production (sandbox telephony,
// embedded AI, the sample data files). Service-level tests drive it over HTTP and gRPC.
//
//   static SuiteProcesses* suite = new SuiteProcesses(options);
//   ASSERT_THAT(suite->Start(), IsOk());
//   HttpRequest("POST", suite->base_url() + "/ai/call/start", R"({"phoneNumber":"..."})");
//
// Not thread-safe; one test thread drives it.
class SuiteProcesses {
 public:
  explicit SuiteProcesses(SuiteOptions options);
  // Stops whatever still runs (SIGTERM, then SIGKILL after a few seconds).
  ~SuiteProcesses();
  SuiteProcesses(const SuiteProcesses&) = delete;
  SuiteProcesses& operator=(const SuiteProcesses&) = delete;

  // Redis, then context, ai-session, call-control and the gateway; returns once the gateway's
  // /readyz answers 200. On failure the status carries the failing process's last log lines.
  absl::Status Start();

  // Starts one process and waits until it answers its own health check (gRPC health SERVING,
  // or the gateway's /healthz 200). Does not wait for the gateway's /readyz.
  absl::Status StartService(Service service);
  // SIGTERM, then OK only if the process exits with code 0 within `timeout`.
  absl::Status StopService(Service service, absl::Duration timeout = absl::Seconds(15));
  // StopService (exit code 0 required), StartService, then WaitUntilReady.
  absl::Status Restart(Service service);
  // Until the gateway's /readyz answers 200.
  absl::Status WaitUntilReady();
  // The gateway, then the gRPC services, then Redis, each by SIGTERM with exit code 0 required.
  // Returns the first problem; stops every process either way.
  absl::Status StopAll(absl::Duration timeout = absl::Seconds(15));

  bool Running(Service service);
  // The names of the processes (the four services and "redis") that are not running.
  std::vector<std::string> NotRunning();

  // "http://127.0.0.1:<port>", the gateway.
  std::string base_url() const;
  int http_port() const { return ports_.at(Service::kGateway); }
  int port(Service service) const { return ports_.at(service); }
  // "127.0.0.1:<port>" of a gRPC service.
  std::string grpc_address(Service service) const;
  // A channel to a gRPC service that sends kTestGrpcApiKey with every call.
  std::shared_ptr<grpc::Channel> GrpcChannel(Service service) const;
  // The port of a service's /metrics: a gRPC service's metrics port, the gateway's admin port.
  int metrics_port(Service service) const { return metrics_ports_.at(service); }
  // "http://127.0.0.1:<port>", the gateway's admin port (/healthz, /readyz, /metrics).
  std::string admin_url() const;
  RedisServer& redis() { return redis_; }
  ChildProcess& process(Service service) { return *processes_.at(service); }
  const std::string& log_dir() const { return log_dir_; }

  // The last `lines` log lines of every process, each block headed by its name.
  std::string LogTails(int lines = 30);

 private:
  std::map<std::string, std::string> Environment(Service service) const;
  const std::string& BinaryPath(Service service) const;
  bool Healthy(Service service);

  SuiteOptions options_;
  std::string log_dir_;
  RedisServer redis_;
  std::map<Service, int> ports_;
  // Where each gRPC service serves /metrics (LIVECALL_<SERVICE>_METRICS_ADDR) and the gateway its
  // admin port (LIVECALL_ADMIN_ADDR), so that suites running side by side do not collide on the
  // services' default ports.
  std::map<Service, int> metrics_ports_;
  std::map<Service, std::unique_ptr<ChildProcess>> processes_;
};

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_SUITE_PROCESSES_H_
