// livecall-context: customer context by phone number (CRM or directory), conversation state in
// Redis, live events, and delivery of finished conversations to the CRM.
//
//   livecall-context                          serve (configured by the environment)
//   livecall-context --replay-dead-letters    move the conversations the CRM refused for good
//                                             back into the outbox, print how many, and exit

#include <cstdio>
#include <cstring>

#include "common/event_hub.h"
#include "common/grpc_server.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process.h"
#include "common/queued_unary.h"
#include "common/service_main.h"
#include "services/context/context_config.h"
#include "services/context/context_metrics.h"
#include "services/context/context_service.h"
#include "services/context/customer_source.h"
#include "services/context/outbox.h"

namespace {

constexpr char kReplayDeadLettersFlag[] = "--replay-dead-letters";

// The one-shot --replay-dead-letters: the same Redis as the service (its environment), no server.
int ReplayDeadLetters(const livecall::context::ContextConfig& config) {
  livecall::RedisPool redis(config.redis);
  absl::StatusOr<int64_t> replayed = livecall::context::ReplayDeadLetters(redis);
  if (!replayed.ok()) {
    livecall::LogError("dead letters not replayed", {{"error", replayed.status().ToString()}});
    return 1;
  }
  std::printf("%lld dead letters replayed into the crm outbox\n",
              static_cast<long long>(*replayed));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool replay_dead_letters = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], kReplayDeadLettersFlag) == 0) {
      replay_dead_letters = true;
    } else {
      std::fprintf(stderr, "unknown argument '%s'; usage: livecall-context [%s]\n", argv[i],
                   kReplayDeadLettersFlag);
      return 2;
    }
  }
  auto settings =
      livecall::StartService("context", "LIVECALL_CONTEXT_ADDR", "LIVECALL_CONTEXT_METRICS_ADDR",
                             "127.0.0.1:9453", livecall::context::ReadContextConfig);
  if (!settings.ok()) return 2;
  livecall::context::ContextConfig* const config = &settings->config;
  if (replay_dead_letters) return ReplayDeadLetters(*config);
  absl::StatusOr<livecall::context::CustomerDirectory> directory =
      livecall::context::CustomerDirectory::Load(config->customers_file);
  if (!directory.ok()) {
    livecall::LogError("cannot load customers",
                       {{"error", std::string(directory.status().message())}});
    return 2;
  }
  livecall::LogInfo("customers loaded", {{"file", config->customers_file},
                                         {"count", std::to_string(directory->size())}});

  livecall::RegisterProcessMetrics("context");
  livecall::RedisPool redis(config->redis);
  livecall::CurlHttpClient http("crm");
  livecall::context::DirectorySource directory_source(*directory);
  livecall::context::CrmSource crm(http, config->crm);
  livecall::context::CachedSource cached_crm(crm, redis, config->crm.fresh_for,
                                             config->crm.keep_for);
  livecall::context::CustomerSource& customers =
      config->crm.lookup_url_template.empty()
          ? static_cast<livecall::context::CustomerSource&>(directory_source)
          : cached_crm;
  livecall::LogInfo("customer source",
                    {{"source", config->crm.lookup_url_template.empty() ? "directory" : "crm"}});

  livecall::context::SessionStore sessions(redis, config->session_ttl);
  livecall::EventHub events({.redis = config->redis.url});
  events.Start();
  // Each RPC blocks on Redis (or the CRM) in place on one of these threads.
  livecall::QueuedUnaryMethods unary(
      {.threads = config->worker_threads, .work = livecall::QueuedWork::kMayBlock});
  livecall::context::ContextService service(customers, sessions, unary, &events);
  livecall::PeriodicSampler active_sessions(absl::Seconds(15), [&sessions] {
    absl::StatusOr<int64_t> count = sessions.CountActive(absl::Now());
    if (count.ok()) livecall::context::ActiveSessionsGauge().Set(static_cast<double>(*count));
  });

  std::unique_ptr<livecall::context::OutboxDeliverer> outbox;
  if (!config->outbox.webhook_url.empty()) {
    outbox = std::make_unique<livecall::context::OutboxDeliverer>(redis, http, config->outbox);
    // Redis may still be starting; the delivery loop creates the group when it can.
    if (absl::Status group = outbox->EnsureGroup(); !group.ok()) {
      livecall::LogWarning("outbox group not created yet", {{"error", group.ToString()}});
    }
    outbox->Start();
    livecall::LogInfo(
        "crm webhook delivery on",
        {{"url", config->outbox.webhook_url},
         {"reclaim_idle_ms", std::to_string(absl::ToInt64Milliseconds(outbox->reclaim_idle()))}});
  }
  // The backlog is worth watching with or without a webhook: without one it only grows.
  livecall::PeriodicSampler outbox_backlog(
      absl::Seconds(15), [&redis] { livecall::context::SampleOutboxGauges(redis); });
  if (outbox == nullptr) {
    livecall::LogInfo("no crm webhook; finished conversations stay queryable in redis");
  }

  return livecall::ServeUntilSignalThenDrain({.address = config->listen_address,
                                              .services = {&service},
                                              .queued = &unary,
                                              .metrics_address = settings->metrics_address,
                                              .on_drain =
                                                  [&outbox] {
                                                    if (outbox) outbox->Stop();
                                                  },
                                              .auth = config->grpc_auth});
}
