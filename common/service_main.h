#ifndef LIVECALL_COMMON_SERVICE_MAIN_H_
#define LIVECALL_COMMON_SERVICE_MAIN_H_

// The start every gRPC service's main shares: process-wide settings (mutex deadlock detection
// off, shutdown signals blocked for the signal thread, libcurl), logging as the service (buffered,
// as the gateway's), the
// metrics and listen addresses, and the service's own configuration. Header-only: only mains
// include it.

#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/executor.h"
#include "common/grpc_server.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process.h"

namespace livecall {

template <typename Config>
struct ServiceSettings {
  Config config;
  std::string metrics_address;
};

// `read` reads the service's configuration (a Config with a listen_address) from the
// environment. A configuration error is logged ("bad configuration") and returned: the main
// exits with status 2.
template <typename Read,
          typename Config = typename std::invoke_result_t<Read, EnvReader&>::value_type>
absl::StatusOr<ServiceSettings<Config>> StartService(const char* service,
                                                     const char* listen_variable,
                                                     const char* metrics_variable,
                                                     const char* default_metrics_address,
                                                     Read read) {
  TurnOffMutexDeadlockDetection();
  BlockShutdownSignals();
  CurlGlobalInit();
  InitLogging(service);
  // The per-RPC log line was one write(2) per RPC (1.1 per start in ai-session, perf trace -s):
  // info lines are gathered and written every 50 ms and at exit; warnings and errors at once.
  StartBufferedLogging(absl::Milliseconds(50));
  EnvReader env;
  std::string metrics_address = ReadMetricsAddress(env, metrics_variable, default_metrics_address);
  absl::StatusOr<Config> config = read(env);
  if (config.ok()) {
    config->listen_address = ReadGrpcListenAddress(env, listen_variable, config->listen_address);
    if (absl::Status status = env.status(); !status.ok()) config = status;
  }
  if (!config.ok()) {
    LogError("bad configuration", {{"error", std::string(config.status().message())}});
    return config.status();
  }
  return ServiceSettings<Config>{*std::move(config), std::move(metrics_address)};
}

// The end every gRPC service's main shares: serve until SIGTERM or SIGINT, then run the tasks
// still queued on `executor` while the objects they use still live (the executor is made before
// them, so it would be destroyed after them; null for a service with none). The main's exit
// status.
inline int ServeUntilSignalThenDrain(const GrpcServerOptions& options,
                                     Executor* executor = nullptr) {
  absl::Status served = ServeGrpcUntilSignal(options);
  if (executor != nullptr) executor->Drain();
  if (!served.ok()) {
    LogError("server failed", {{"error", std::string(served.message())}});
    return 1;
  }
  return 0;
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_SERVICE_MAIN_H_
