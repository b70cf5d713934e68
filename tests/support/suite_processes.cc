#include "tests/support/suite_processes.h"

#include <grpcpp/grpcpp.h>

#include <csignal>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/caller_identity.h"
#include "common/jwt.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/files.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

std::string MillisText(absl::Duration duration) {
  return absl::StrCat(absl::ToInt64Milliseconds(duration));
}

}  // namespace

absl::string_view ServiceName(Service service) {
  switch (service) {
    case Service::kContext:
      return "context";
    case Service::kAiSession:
      return "ai-session";
    case Service::kCallControl:
      return "call-control";
    case Service::kGateway:
      return "gateway";
  }
  return "unknown";
}

SuiteProcesses::SuiteProcesses(SuiteOptions options) : options_(std::move(options)) {
  if (options_.customers_file.empty()) options_.customers_file = RepoPath("data/customers.json");
  if (options_.kb_file.empty()) options_.kb_file = RepoPath("data/kb.json");
  for (Service service : kAllServices) {
    ports_[service] = FreeTcpPort();
    processes_[service] = std::make_unique<ChildProcess>();
  }
  for (Service service : kAllServices) metrics_ports_[service] = FreeTcpPort();
}

SuiteProcesses::~SuiteProcesses() {
  // Quick and unconditional: the graceful path is StopAll(), which tests call when it matters.
  for (Service service : kAllServices) {
    if (processes_[service]->Running()) processes_[service]->Signal(SIGTERM).IgnoreError();
  }
  for (Service service : kAllServices) {
    if (!processes_[service]->WaitForExit(absl::Seconds(5)).ok()) processes_[service]->Kill();
  }
  if (redis_.process().Running() && !redis_.Stop(absl::Seconds(5)).ok()) redis_.process().Kill();
  if (!log_dir_.empty() && ShouldRemoveTempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(log_dir_, ignored);
  }
}

std::string ServiceApiKey(Service service) {
  return absl::StrCat("suite-test-key-of-", ServiceName(service));
}

std::string TestToken(const std::string& agent_id, const std::string& role, absl::Duration ttl) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                      absl::StrCat(R"({"sub":")", agent_id, R"(","role":")", role, R"(","iat":)",
                                   now, R"(,"exp":)", now + absl::ToInt64Seconds(ttl), "}"),
                      kTestJwtSecret);
}

std::map<std::string, std::string> BearerHeader(const std::string& agent_id,
                                                const std::string& role) {
  return {{"Authorization", absl::StrCat("Bearer ", TestToken(agent_id, role))}};
}

std::shared_ptr<grpc::Channel> SuiteProcesses::GrpcChannel(Service service) const {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewApiKeyInterceptorFactory(kTestGrpcApiKey));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      grpc_address(service), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
      std::move(interceptors));
}

std::map<std::string, std::string> SuiteProcesses::Environment(Service service) const {
  std::map<std::string, std::string> env = {
      {"LIVECALL_HTTP_ADDR", absl::StrCat("127.0.0.1:", ports_.at(Service::kGateway))},
      {"LIVECALL_CALL_CONTROL_ADDR", grpc_address(Service::kCallControl)},
      {"LIVECALL_AI_SESSION_ADDR", grpc_address(Service::kAiSession)},
      {"LIVECALL_CONTEXT_ADDR", grpc_address(Service::kContext)},
      {"LIVECALL_ADMIN_ADDR", absl::StrCat("127.0.0.1:", metrics_ports_.at(Service::kGateway))},
      {"LIVECALL_CALL_CONTROL_METRICS_ADDR",
       absl::StrCat("127.0.0.1:", metrics_ports_.at(Service::kCallControl))},
      {"LIVECALL_AI_SESSION_METRICS_ADDR",
       absl::StrCat("127.0.0.1:", metrics_ports_.at(Service::kAiSession))},
      {"LIVECALL_CONTEXT_METRICS_ADDR",
       absl::StrCat("127.0.0.1:", metrics_ports_.at(Service::kContext))},
      {"LIVECALL_REDIS_URL", redis_.url()},
      {"LIVECALL_CUSTOMERS_FILE", options_.customers_file},
      {"LIVECALL_KB_FILE", options_.kb_file},
      {"LIVECALL_SANDBOX_RING_MS", MillisText(options_.sandbox_ring)},
      {"LIVECALL_SANDBOX_ANSWER_MS", MillisText(options_.sandbox_answer)},
      {"LIVECALL_SANDBOX_TALK_MS", MillisText(options_.sandbox_talk)},
      {"LIVECALL_HTTP_BODY_LIMIT_BYTES", absl::StrCat(options_.http_body_limit_bytes)},
      {"LIVECALL_LOG_LEVEL", options_.log_level},
      {"LIVECALL_JWT_SECRET", kTestJwtSecret},
      // One address and a few agents send every test's requests at test speed; the rate-limit
      // tests set their own limits.
      {"LIVECALL_RATE_LIMIT_AGENT_RPS", "0"},
      {"LIVECALL_RATE_LIMIT_IP_RPS", "0"},
      {"LIVECALL_GRPC_API_KEY", ServiceApiKey(service)},
      {"LIVECALL_GRPC_API_KEYS",
       absl::StrCat("gateway:", ServiceApiKey(Service::kGateway),
                    ",call-control:", ServiceApiKey(Service::kCallControl),
                    ",ai-session:", ServiceApiKey(Service::kAiSession), ",test:", kTestGrpcApiKey)},
  };
  for (const auto& [name, value] : options_.extra_env) env[name] = value;
  return env;
}

const std::string& SuiteProcesses::BinaryPath(Service service) const {
  switch (service) {
    case Service::kContext:
      return options_.binaries.context;
    case Service::kAiSession:
      return options_.binaries.ai_session;
    case Service::kCallControl:
      return options_.binaries.call_control;
    case Service::kGateway:
      break;
  }
  return options_.binaries.gateway;
}

std::string SuiteProcesses::base_url() const {
  return absl::StrCat("http://127.0.0.1:", ports_.at(Service::kGateway));
}

std::string SuiteProcesses::admin_url() const {
  return absl::StrCat("http://127.0.0.1:", metrics_ports_.at(Service::kGateway));
}

std::string SuiteProcesses::grpc_address(Service service) const {
  return absl::StrCat("127.0.0.1:", ports_.at(service));
}

absl::Status SuiteProcesses::Start() {
  if (log_dir_.empty()) {
    absl::StatusOr<std::string> dir = MakeTempDir("livecall-suite-");
    if (!dir.ok()) return dir.status();
    log_dir_ = *dir;
  }
  absl::Status status = redis_.Start();
  if (!status.ok()) return status;
  for (Service service : kAllServices) {
    status = StartService(service);
    if (!status.ok()) return status;
  }
  return WaitUntilReady();
}

bool SuiteProcesses::Healthy(Service service) {
  if (service == Service::kGateway) {
    return HttpRequest("GET", base_url() + "/healthz", "", {}, absl::Milliseconds(500)).status ==
           200;
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateCustomChannel(grpc_address(service), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  context.set_wait_for_ready(true);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::Status SuiteProcesses::StartService(Service service) {
  if (log_dir_.empty()) return absl::FailedPreconditionError("Start() the suite first");
  const std::string& binary = BinaryPath(service);
  if (binary.empty() || !std::filesystem::exists(binary)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no binary for ", ServiceName(service), " at '", binary, "'"));
  }
  ChildProcess& child = *processes_[service];
  absl::Status started = child.Start(binary, {}, Environment(service),
                                     absl::StrCat(log_dir_, "/", ServiceName(service), ".log"));
  if (!started.ok()) return started;
  return child.WaitUntilReady(
      ServiceName(service), [&] { return Healthy(service); }, options_.ready_timeout);
}

absl::Status SuiteProcesses::StopService(Service service, absl::Duration timeout) {
  ChildProcess& child = *processes_[service];
  absl::Status signalled = child.Signal(SIGTERM);
  if (!signalled.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(ServiceName(service), " was not running; its log:\n", child.LogTail(30)));
  }
  absl::StatusOr<int> code = child.WaitForExit(timeout);
  if (!code.ok()) {
    child.Kill();
    return absl::Status(code.status().code(),
                        absl::StrCat(ServiceName(service), " after SIGTERM: ",
                                     code.status().message(), "; its log:\n", child.LogTail(30)));
  }
  if (*code != 0) {
    return absl::InternalError(absl::StrCat(ServiceName(service), " exited with code ", *code,
                                            " after SIGTERM; its log:\n", child.LogTail(30)));
  }
  return absl::OkStatus();
}

absl::Status SuiteProcesses::Restart(Service service) {
  absl::Status status = StopService(service);
  if (!status.ok()) return status;
  status = StartService(service);
  if (!status.ok()) return status;
  return WaitUntilReady();
}

absl::Status SuiteProcesses::WaitUntilReady() {
  // The gateway reuses a readiness round for a second: only a round that began after this call
  // says anything about the processes as they are now (after a restart, say).
  const absl::Time asked_at = absl::Now();
  HttpResponse last;
  bool ready = WaitFor(
      [&] {
        last = HttpRequest("GET", admin_url() + "/readyz", "", {}, absl::Seconds(2));
        absl::Time checked_at;
        std::string error;
        return last.status == 200 &&
               absl::ParseTime(absl::RFC3339_full, last.headers["x-livecall-readiness-checked-at"],
                               &checked_at, &error) &&
               checked_at >= asked_at - absl::Milliseconds(1);
      },
      options_.ready_timeout);
  if (!ready) {
    std::ostringstream text;
    text << last;
    return absl::UnavailableError(absl::StrCat("gateway /readyz not 200 within ",
                                               absl::FormatDuration(options_.ready_timeout),
                                               "; last answer: ", text.str(), "\n", LogTails(15)));
  }
  return absl::OkStatus();
}

absl::Status SuiteProcesses::StopAll(absl::Duration timeout) {
  absl::Status first_problem;
  for (Service service :
       {Service::kGateway, Service::kCallControl, Service::kAiSession, Service::kContext}) {
    if (!processes_[service]->Running()) continue;
    absl::Status status = StopService(service, timeout);
    if (first_problem.ok()) first_problem = status;
  }
  if (redis_.process().Running()) {
    absl::Status status = redis_.Stop(timeout);
    if (first_problem.ok()) first_problem = status;
  }
  return first_problem;
}

bool SuiteProcesses::Running(Service service) { return processes_[service]->Running(); }

std::vector<std::string> SuiteProcesses::NotRunning() {
  std::vector<std::string> names;
  for (Service service : kAllServices) {
    if (!Running(service)) names.emplace_back(ServiceName(service));
  }
  if (!redis_.process().Running()) names.emplace_back("redis");
  return names;
}

std::string SuiteProcesses::LogTails(int lines) {
  std::string text;
  for (Service service : kAllServices) {
    absl::StrAppend(&text, "----- ", ServiceName(service), " (", processes_[service]->log_path(),
                    ") -----\n", processes_[service]->LogTail(lines), "\n");
  }
  absl::StrAppend(&text, "----- redis -----\n", redis_.process().LogTail(lines), "\n");
  return text;
}

}  // namespace livecall::testing
