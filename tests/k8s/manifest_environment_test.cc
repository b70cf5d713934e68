// Each binary started with the environment its Kubernetes manifest gives it (as rendered by
// check_manifests.mjs from `kubectl kustomize`), answers the probes the manifest declares and
// serves the metrics its scrape annotations point at. Cluster addresses are remapped to this
// machine: a Service's port becomes a free port on 127.0.0.1 (dialled through gRPC's DNS resolver,
// dns:///127.0.0.1:<port>, as in the cluster), Redis is the test's own, the image's data files are
// the source tree's.

#include <grpcpp/grpcpp.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/files.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/json.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/suite_processes.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kStartTimeout = absl::Seconds(20);

struct Probe {
  std::string kind;  // "startupProbe", "livenessProbe", "readinessProbe"
  std::string type;  // "grpc" or "http"
  int port = 0;
  std::string path;
};

struct Workload {
  std::string name;
  std::map<std::string, std::string> env;
  // Variables the manifest takes from livecall-secrets.
  std::vector<std::string> secret_refs;
  // Variable -> (workload it reaches, that workload's container port).
  std::map<std::string, std::pair<std::string, int>> endpoints;
  std::map<std::string, std::string> files;  // Variable -> file name under data/.
  std::map<std::string, int> ports;          // Container port name -> number.
  std::vector<Probe> probes;
  int metrics_port = 0;
  std::string metrics_path;
};

int NumberField(const google::protobuf::Value& value, absl::string_view key) {
  const google::protobuf::Value* member = JsonMember(value, key);
  return member != nullptr ? static_cast<int>(member->number_value()) : 0;
}

std::map<std::string, std::string> StringMap(const google::protobuf::Value* value) {
  std::map<std::string, std::string> map;
  if (value == nullptr) return map;
  for (const auto& [key, item] : value->struct_value().fields()) map[key] = item.string_value();
  return map;
}

absl::StatusOr<std::vector<Workload>> LoadWorkloads(const std::string& overlay) {
  const std::string text = ReadFileOrEmpty(LIVECALL_K8S_RENDERED_JSON);
  if (text.empty()) {
    return absl::NotFoundError(
        absl::StrCat(LIVECALL_K8S_RENDERED_JSON, " is missing; the k8s.manifests test writes it"));
  }
  absl::StatusOr<google::protobuf::Value> root = ParseJson(text);
  if (!root.ok()) return root.status();
  const google::protobuf::Value* overlays = JsonMember(*root, "overlays");
  const google::protobuf::Value* rendered = overlays ? JsonMember(*overlays, overlay) : nullptr;
  const google::protobuf::Value* list = rendered ? JsonMember(*rendered, "workloads") : nullptr;
  if (list == nullptr) return absl::NotFoundError(absl::StrCat("no overlay ", overlay));
  std::vector<Workload> workloads;
  for (const google::protobuf::Value& item : list->list_value().values()) {
    Workload workload;
    workload.name = JsonString(item, {"name"});
    workload.env = StringMap(JsonMember(item, "env"));
    workload.files = StringMap(JsonMember(item, "files"));
    if (const google::protobuf::Value* refs = JsonMember(item, "secret_refs")) {
      for (const google::protobuf::Value& ref : refs->list_value().values()) {
        workload.secret_refs.push_back(ref.string_value());
      }
    }
    if (const google::protobuf::Value* ports = JsonMember(item, "ports")) {
      for (const auto& [name, port] : ports->struct_value().fields()) {
        workload.ports[name] = static_cast<int>(port.number_value());
      }
    }
    if (const google::protobuf::Value* endpoints = JsonMember(item, "endpoints")) {
      for (const auto& [variable, endpoint] : endpoints->struct_value().fields()) {
        workload.endpoints[variable] = {JsonString(endpoint, {"service"}),
                                        NumberField(endpoint, "port")};
      }
    }
    if (const google::protobuf::Value* probes = JsonMember(item, "probes")) {
      for (const auto& [kind, probe] : probes->struct_value().fields()) {
        workload.probes.push_back({kind, JsonString(probe, {"type"}), NumberField(probe, "port"),
                                   JsonString(probe, {"path"})});
      }
    }
    if (const google::protobuf::Value* metrics = JsonMember(item, "metrics")) {
      workload.metrics_port = NumberField(*metrics, "port");
      workload.metrics_path = JsonString(*metrics, {"path"});
    }
    workloads.push_back(std::move(workload));
  }
  return workloads;
}

std::string BinaryOf(const std::string& name) {
  return absl::StrCat(LIVECALL_BUILD_DIR, "/services/", name, "/livecall-", name);
}

bool GrpcServing(int port) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

// The suite as the overlay deploys it, on this machine.
class ManifestSuite {
 public:
  explicit ManifestSuite(std::vector<Workload> workloads) : workloads_(std::move(workloads)) {}

  ~ManifestSuite() {
    for (auto& [name, process] : processes_) {
      if (process->Running()) process->Kill();
    }
    if (!log_dir_.empty() && ShouldRemoveTempDirs()) {
      std::error_code ignored;
      std::filesystem::remove_all(log_dir_, ignored);
    }
  }

  // The local port standing for `port` of `workload`'s pods.
  int LocalPort(const std::string& workload, int port) {
    auto [it, inserted] = ports_.try_emplace({workload, port}, 0);
    if (inserted) it->second = FreeTcpPort();
    return it->second;
  }

  // The manifest's environment with cluster addresses remapped; FAILED_PRECONDITION when a value
  // still names something of the cluster.
  absl::StatusOr<std::map<std::string, std::string>> LocalEnvironment(const Workload& workload) {
    std::map<std::string, std::string> env;
    for (const auto& [name, value] : workload.env) {
      std::string local = value;
      if (auto endpoint = workload.endpoints.find(name); endpoint != workload.endpoints.end()) {
        local = absl::StrCat("dns:///127.0.0.1:",
                             LocalPort(endpoint->second.first, endpoint->second.second));
      } else if (name == "LIVECALL_REDIS_URL") {
        local = redis_.url();
      } else if (auto file = workload.files.find(name); file != workload.files.end()) {
        local = RepoPath(absl::StrCat("data/", file->second));
      } else if (absl::StartsWith(value, "0.0.0.0:")) {
        int port = 0;
        if (!absl::SimpleAtoi(absl::string_view(value).substr(8), &port)) {
          return absl::FailedPreconditionError(absl::StrCat(name, "=", value));
        }
        local = absl::StrCat("127.0.0.1:", LocalPort(workload.name, port));
      }
      if (absl::StrContains(local, ".svc.cluster.local") ||
          absl::StrContains(local, "/usr/share/")) {
        return absl::FailedPreconditionError(
            absl::StrCat(workload.name, ": ", name, "=", local, " was not mapped to this machine"));
      }
      env[name] = local;
    }
    // The test's livecall-secrets: what authentication needs (k8s/README.md), nothing else, so
    // the suite runs in the sandbox.
    for (const std::string& name : workload.secret_refs) {
      if (name == "LIVECALL_JWT_SECRET") env[name] = kTestJwtSecret;
      if (name == "LIVECALL_GRPC_API_KEY") env[name] = absl::StrCat("k8s-test-key-", workload.name);
      if (name == "LIVECALL_GRPC_API_KEYS") {
        env[name] =
            "gateway:k8s-test-key-gateway,call-control:k8s-test-key-call-control,"
            "ai-session:k8s-test-key-ai-session";
      }
    }
    return env;
  }

  absl::Status StartRedis() {
    absl::StatusOr<std::string> dir = MakeTempDir("livecall-k8s-");
    if (!dir.ok()) return dir.status();
    log_dir_ = *dir;
    return redis_.Start();
  }

  absl::Status Start(const Workload& workload) {
    absl::StatusOr<std::map<std::string, std::string>> env = LocalEnvironment(workload);
    if (!env.ok()) return env.status();
    auto process = std::make_unique<ChildProcess>();
    absl::Status started = process->Start(BinaryOf(workload.name), {}, *env,
                                          absl::StrCat(log_dir_, "/", workload.name, ".log"));
    if (!started.ok()) return started;
    ChildProcess& child = *process;
    processes_[workload.name] = std::move(process);
    for (const Probe& probe : workload.probes) {
      if (probe.kind != "startupProbe") continue;
      if (!WaitFor([&] { return !child.Running() || Answers(workload, probe); }, kStartTimeout) ||
          !child.Running()) {
        return absl::UnavailableError(absl::StrCat(workload.name, " did not answer its ",
                                                   probe.kind, "; its log:\n", child.LogTail()));
      }
    }
    return absl::OkStatus();
  }

  bool Answers(const Workload& workload, const Probe& probe) {
    const int port = LocalPort(workload.name, probe.port);
    if (probe.type == "grpc") return GrpcServing(port);
    return HttpRequest("GET", absl::StrCat("http://127.0.0.1:", port, probe.path), "", {},
                       absl::Seconds(2))
               .status == 200;
  }

  std::string Metrics(const Workload& workload) {
    return HttpRequest("GET", absl::StrCat("http://127.0.0.1:",
                                           LocalPort(workload.name, workload.metrics_port),
                                           workload.metrics_path))
        .body;
  }

  ChildProcess& process(const std::string& name) { return *processes_.at(name); }
  std::string LogOf(const std::string& name) {
    return ReadFileOrEmpty(absl::StrCat(log_dir_, "/", name, ".log"));
  }

 private:
  std::vector<Workload> workloads_;
  std::string log_dir_;
  RedisServer redis_;
  std::map<std::pair<std::string, int>, int> ports_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
};

const Workload* Find(const std::vector<Workload>& workloads, absl::string_view name) {
  for (const Workload& workload : workloads) {
    if (workload.name == name) return &workload;
  }
  return nullptr;
}

class ManifestEnvironmentTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ManifestEnvironmentTest, EveryBinaryRunsWithItsManifestAndAnswersItsProbes) {
  LIVECALL_ASSERT_OK_AND_ASSIGN(std::vector<Workload> workloads, LoadWorkloads(GetParam()));
  ManifestSuite suite(workloads);
  LIVECALL_ASSERT_OK(suite.StartRedis());

  // Each after the ones it dials, as the readiness gates order them in the cluster.
  for (const char* name : {"context", "ai-session", "call-control", "gateway"}) {
    SCOPED_TRACE(name);
    const Workload* workload = Find(workloads, name);
    ASSERT_NE(workload, nullptr);
    LIVECALL_ASSERT_OK(suite.Start(*workload));
  }

  // Every probe of every container answers (the gateway's readiness needs all the others).
  for (const Workload& workload : workloads) {
    for (const Probe& probe : workload.probes) {
      EXPECT_TRUE(WaitFor([&] { return suite.Answers(workload, probe); }, kStartTimeout))
          << workload.name << " " << probe.kind << " " << probe.type << " " << probe.path << "\n"
          << suite.LogOf(workload.name);
    }
  }

  // A request through the gateway reaches ai-session and context over the dns:/// targets, and
  // its request id is in the services' logs.
  const std::string request_id =
      absl::StrCat("k8s-test-", GetParam(), "-", absl::ToUnixMicros(absl::Now()));
  const Workload& gateway = *Find(workloads, "gateway");
  ASSERT_EQ(gateway.ports.count("http"), 1u);
  HttpResponse started = HttpRequest(
      "POST",
      absl::StrCat("http://127.0.0.1:", suite.LocalPort("gateway", gateway.ports.at("http")),
                   "/ai/call/start"),
      R"({"phoneNumber":"+998901112233"})",
      {{"X-Request-Id", request_id},
       {"Authorization", absl::StrCat("Bearer ", TestToken("k8s-test-agent"))}});
  EXPECT_EQ(started.status, 200) << started;
  // The probes and the scrape are on the admin port only: the port the Service and the Ingress
  // route answers neither.
  for (const char* path : {"/readyz", "/metrics"}) {
    EXPECT_EQ(
        HttpRequest("GET", absl::StrCat("http://127.0.0.1:",
                                        suite.LocalPort("gateway", gateway.ports.at("http")), path))
            .status,
        404)
        << path;
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(suite.LogOf("ai-session"),
                                 absl::StrCat("\"request_id\":\"", request_id, "\""));
      },
      absl::Seconds(5)))
      << suite.LogOf("ai-session");

  // /metrics where the scrape annotations say, with the suite's metric names.
  const std::map<std::string, std::vector<std::string>> expected = {
      {"gateway",
       {"livecall_build_info{service=\"gateway\"} 1", "livecall_http_requests_total{",
        "route=\"/ai/call/start\"", "livecall_http_request_duration_seconds_bucket{",
        "livecall_redis_command_duration_seconds_count{command=\"PING\"}"}},
      {"ai-session",
       {"livecall_build_info{service=\"ai-session\"} 1", "livecall_grpc_server_handled_total{",
        "grpc_service=\"grpc.health.v1.Health\"", "grpc_method=\"StartSession\"",
        "livecall_grpc_server_handling_seconds_bucket{"}},
      {"context",
       {"livecall_build_info{service=\"context\"} 1", "livecall_grpc_server_handled_total{",
        "livecall_redis_command_duration_seconds_count{command=\"ZREMRANGEBYSCORE\"}",
        "livecall_active_sessions"}},
      {"call-control",
       {"livecall_build_info{service=\"call-control\"} 1", "livecall_grpc_server_handled_total{",
        "livecall_redis_command_duration_seconds_count{command=\"ZREMRANGEBYSCORE\"}",
        "livecall_active_calls"}},
  };
  for (const auto& [name, needles] : expected) {
    const Workload& workload = *Find(workloads, name);
    std::string metrics;
    const bool all_there = WaitFor(
        [&] {
          metrics = suite.Metrics(workload);
          for (const std::string& needle : needles) {
            if (!absl::StrContains(metrics, needle)) return false;
          }
          return true;
        },
        absl::Seconds(5));
    for (const std::string& needle : needles) {
      EXPECT_THAT(metrics, HasSubstr(needle))
          << name << " /metrics" << (all_there ? "" : " (partial)");
    }
  }

  // SIGTERM: each drains and exits 0, the edge first.
  for (const char* name : {"gateway", "call-control", "ai-session", "context"}) {
    SCOPED_TRACE(name);
    LIVECALL_ASSERT_OK(suite.process(name).Signal(SIGTERM));
    absl::StatusOr<int> code = suite.process(name).WaitForExit(absl::Seconds(15));
    ASSERT_TRUE(code.ok()) << code.status() << "\n" << suite.LogOf(name);
    EXPECT_EQ(*code, 0) << suite.LogOf(name);
  }
}

INSTANTIATE_TEST_SUITE_P(Overlays, ManifestEnvironmentTest, ::testing::Values("dev", "prod"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace livecall::testing
