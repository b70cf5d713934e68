// livecall-call-control: places and controls phone calls; the call state machine in Redis.

#include "common/grpc_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "services/call-control/call_control_config.h"
#include "services/call-control/call_control_service.h"
#include "services/call-control/sandbox_provider.h"

int main() {
  livecall::BlockShutdownSignals();
  livecall::InitLogging("call-control");
  livecall::EnvReader env;
  const std::string metrics_address =
      livecall::ReadMetricsAddress(env, "LIVECALL_CALL_CONTROL_METRICS_ADDR", "127.0.0.1:9451");
  absl::StatusOr<livecall::call_control::CallControlConfig> config =
      livecall::call_control::ReadCallControlConfig(env);
  if (config.ok()) {
    config->listen_address =
        livecall::ReadGrpcListenAddress(env, "LIVECALL_CALL_CONTROL_ADDR", config->listen_address);
    if (absl::Status status = env.status(); !status.ok()) config = status;
  }
  if (!config.ok()) {
    livecall::LogError("bad configuration", {{"error", std::string(config.status().message())}});
    return 2;
  }
  if (config->twilio.configured()) {
    // Refuse rather than silently simulate calls an operator expects to reach real phones.
    livecall::LogError(
        "TWILIO_* is set but this build has only the sandbox provider; "
        "unset TWILIO_ACCOUNT_SID to run the sandbox");
    return 2;
  }

  livecall::RegisterProcessMetrics("call-control");
  livecall::RedisPool redis(config->redis);
  livecall::call_control::CallStore calls(redis, config->call_ttl);
  livecall::call_control::SandboxProvider sandbox(calls, config->sandbox);
  livecall::Executor executor(config->worker_threads);
  livecall::call_control::CallControlService service(sandbox, calls, executor,
                                                     config->sandbox_caller_id);
  sandbox.Start();
  livecall::LogInfo("telephony provider", {{"provider", std::string(sandbox.name())}});
  livecall::PeriodicSampler stored_calls(absl::Seconds(15), [&redis] {
    absl::StatusOr<int64_t> count = redis.CountKeys("livecall:call:*");
    if (count.ok()) livecall::StoredCallsGauge().Set(static_cast<double>(*count));
  });

  absl::Status served = livecall::ServeGrpcUntilSignal(
      {.address = config->listen_address,
       .services = {&service},
       .metrics_address = metrics_address,
       .on_drain = [&sandbox] { sandbox.Stop(); }});
  if (!served.ok()) {
    livecall::LogError("server failed", {{"error", std::string(served.message())}});
    return 1;
  }
  return 0;
}
