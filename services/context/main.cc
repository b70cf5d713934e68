// livecall-context: customer context by phone number and conversation state in Redis.

#include <cstdio>

#include "common/grpc_server.h"
#include "common/log.h"
#include "services/context/context_config.h"
#include "services/context/context_service.h"

int main() {
  livecall::BlockShutdownSignals();
  livecall::InitLogging("context");
  livecall::EnvReader env;
  absl::StatusOr<livecall::context::ContextConfig> config =
      livecall::context::ReadContextConfig(env);
  if (!config.ok()) {
    livecall::LogError("bad configuration", {{"error", std::string(config.status().message())}});
    return 2;
  }
  absl::StatusOr<livecall::context::CustomerDirectory> directory =
      livecall::context::CustomerDirectory::Load(config->customers_file);
  if (!directory.ok()) {
    livecall::LogError("cannot load customers",
                       {{"error", std::string(directory.status().message())}});
    return 2;
  }
  livecall::LogInfo("customers loaded", {{"file", config->customers_file},
                                         {"count", std::to_string(directory->size())}});

  livecall::RedisPool redis(config->redis);
  livecall::context::SessionStore sessions(redis, config->session_ttl);
  livecall::Executor executor(config->worker_threads);
  livecall::context::ContextService service(*directory, sessions, executor);

  absl::Status served = livecall::ServeGrpcUntilSignal(
      {.address = config->listen_address, .services = {&service}, .on_drain = nullptr});
  if (!served.ok()) {
    livecall::LogError("server failed", {{"error", std::string(served.message())}});
    return 1;
  }
  return 0;
}
