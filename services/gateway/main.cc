// The Livecall edge gateway: REST/JSON on HTTP/1.1 → gRPC to call-control, ai-session, context.

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/event_hub.h"
#include "common/executor.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process.h"
#include "common/redis_pool.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/client_queues.h"
#include "services/gateway/console_files.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/gateway_handler.h"
#include "services/gateway/http_server.h"
#include "services/gateway/openapi.h"
#include "services/gateway/readiness.h"
#include "services/gateway/route_table.h"

namespace gw = livecall::gateway;

int main(int argc, char** argv) {
  livecall::TurnOffMutexDeadlockDetection();
  // `livecall-gateway --print-openapi` writes /openapi.json to stdout and exits: the TypeScript
  // client is generated from it at build time without starting a server.
  if (argc == 2 && std::string_view(argv[1]) == "--print-openapi") {
    absl::StatusOr<gw::RouteTable> routes = gw::RouteTable::BuildServed();
    absl::StatusOr<std::string> openapi =
        routes.ok() ? gw::GenerateOpenApi(*routes) : absl::StatusOr<std::string>(routes.status());
    if (!openapi.ok()) {
      std::fprintf(stderr, "%s\n", openapi.status().ToString().c_str());
      return 1;
    }
    std::fwrite(openapi->data(), 1, openapi->size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  if (argc > 1) {
    std::fprintf(stderr, "usage: %s [--print-openapi]\n", argv[0]);
    return 2;
  }
  livecall::InitLogging("gateway");
  livecall::BlockShutdownSignals();

  livecall::EnvReader env;
  absl::StatusOr<gw::GatewayConfig> config = gw::ReadGatewayConfig(env);
  if (!config.ok()) {
    livecall::LogError("bad configuration", {{"error", std::string(config.status().message())}});
    return 2;
  }
  livecall::InitLogging("gateway", config->log_level);
  // The access log writes a line per request: gathered and written every 50 ms (and at exit)
  // rather than one write(2) each.
  livecall::StartBufferedLogging(absl::Milliseconds(50));
  livecall::RegisterProcessMetrics("gateway");

  absl::StatusOr<gw::RouteTable> routes = gw::RouteTable::BuildServed();
  absl::StatusOr<std::string> openapi =
      routes.ok() ? gw::GenerateOpenApi(*routes) : absl::StatusOr<std::string>(routes.status());
  if (!openapi.ok()) {
    livecall::LogError("cannot build the route table", {{"error", openapi.status().ToString()}});
    return 1;
  }

  std::optional<gw::ConsoleFiles> console;
  if (!config->console_dir.empty()) {
    absl::StatusOr<gw::ConsoleFiles> files = gw::ConsoleFiles::Load(config->console_dir);
    if (!files.ok()) {
      livecall::LogError(
          "bad configuration",
          {{"error", absl::StrCat("LIVECALL_CONSOLE_DIR: ", files.status().message())}});
      return 2;
    }
    console = *std::move(files);
    livecall::LogInfo(
        "console", {{"dir", config->console_dir}, {"files", absl::StrCat(console->file_count())}});
  }

  const std::string& api_key = config->grpc_auth.client_key;
  const auto call_control = livecall::MakePeerChannel(config->backends.call_control, api_key);
  const auto ai_session = livecall::MakePeerChannel(config->backends.ai_session, api_key);
  const auto context = livecall::MakePeerChannel(config->backends.context, api_key);
  // The backend calls' answers and the health checks' come back on this queue's thread (one is
  // enough: its work per answer is small, and the answer is written to the connection there).
  const auto client_queues = std::make_shared<gw::ClientQueues>(1);
  gw::GrpcBackendClient backend(
      {{.name = "call-control",
        .channel = call_control,
        .services = {"livecall.v1.CallControl", "livecall.v1.TwilioWebhooks",
                     "livecall.v1.SpeechAudio"}},
       {.name = "ai-session", .channel = ai_session, .services = {"livecall.v1.AiSession"}},
       {.name = "context", .channel = context, .services = {"livecall.v1.Context"}}},
      client_queues);

  livecall::RedisPool redis({.url = config->redis,
                             .max_connections = 2,
                             .connect_timeout = absl::Seconds(1),
                             .command_timeout = absl::Seconds(1),
                             .lease_timeout = absl::Seconds(1)});
  livecall::Executor redis_executor(1);
  const absl::Duration health_timeout = absl::Seconds(1);
  gw::ReadinessChecker readiness({
      {"callControl", gw::GrpcHealthCheck(call_control, health_timeout, client_queues)},
      {"aiSession", gw::GrpcHealthCheck(ai_session, health_timeout, client_queues)},
      {"context", gw::GrpcHealthCheck(context, health_timeout, client_queues)},
      {"redis", gw::RedisPingCheck(&redis, &redis_executor)},
  });

  // Live events for Server-Sent Events: one Redis reader for every open stream.
  livecall::EventHub events({.redis = config->redis});
  events.Start();
  if (!config->auth_enabled) {
    livecall::LogWarning("LIVECALL_AUTH=off: every route answers without a bearer token");
  }
  std::optional<livecall::AudioUrlSigner> tts_signer;
  if (!config->tts_url_secret.empty()) tts_signer.emplace(config->tts_url_secret);
  gw::LiveStreamLimits stream_limits(
      {.per_identity = config->sse_max_per_agent, .total = config->sse_max_streams});
  gw::RateLimiter agent_limiter(config->agent_rate_per_second, config->agent_burst);
  gw::RateLimiter ip_limiter(config->ip_rate_per_second, config->ip_burst);
  gw::GatewayHandler handler(&*routes, &backend, &readiness, *std::move(openapi),
                             {.backend_deadline = config->grpc_deadline,
                              .webhook_deadline = config->webhook_deadline,
                              .auth_enabled = config->auth_enabled,
                              .jwt = config->jwt,
                              .jwt_leeway = config->jwt_leeway,
                              .jwt_audience = config->jwt_audience,
                              .jwt_issuer = config->jwt_issuer,
                              .jwt_max_lifetime = config->jwt_max_lifetime,
                              .dev_login = config->dev_login,
                              .dev_login_ttl = config->dev_login_ttl,
                              .cors = gw::CorsPolicy(config->cors_origins),
                              .agent_limiter = &agent_limiter,
                              .ip_limiter = &ip_limiter,
                              .trusted_proxy_hops = config->trusted_proxy_hops,
                              .twilio_auth_token = config->twilio_auth_token,
                              .public_url = config->public_url,
                              .twilio_replay_window = config->twilio_replay_window,
                              .events = &events,
                              .console = console.has_value() ? &*console : nullptr,
                              .tts_signer = tts_signer.has_value() ? &*tts_signer : nullptr,
                              .stream_limits = &stream_limits});
  // The probes and the scrape, on a port the Ingress does not route.
  gw::AdminHandler admin_handler(&readiness);
  gw::HttpServer admin({.address = config->admin_addr, .threads = 1}, &admin_handler);
  if (absl::Status started = admin.Start(); !started.ok()) {
    livecall::LogError("cannot start the admin port", {{"error", started.ToString()}});
    return 1;
  }
  gw::HttpServer server({.address = config->http_addr,
                         .threads = config->http_threads,
                         .body_limit = config->body_limit_bytes,
                         .read_timeout = config->read_timeout},
                        &handler);
  if (absl::Status started = server.Start(); !started.ok()) {
    livecall::LogError("cannot start", {{"error", started.ToString()}});
    return 1;
  }
  livecall::LogInfo("listening", {{"addr", config->http_addr},
                                  {"port", absl::StrCat(server.port())},
                                  {"admin_addr", config->admin_addr},
                                  {"admin_port", absl::StrCat(admin.port())},
                                  {"routes", absl::StrCat(routes->routes().size())}});

  const int signal_number = livecall::WaitForShutdownSignal();
  livecall::LogInfo("draining", {{"signal", absl::StrCat(signal_number)}});
  server.Shutdown(absl::Seconds(10));
  admin.Shutdown(absl::Seconds(1));
  livecall::LogInfo("stopped");
  return 0;
}
