#include "services/context/context_config.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/default_data_dir.h"
#include "common/redis_config.h"

namespace livecall::context {
namespace {

void CheckHttpUrl(EnvReader& env, const char* name, const std::string& url) {
  if (!url.empty() && !absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    env.AddError(name, "must start with http:// or https://");
  }
}

std::string ConsumerName() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, "-", getpid());
}

}  // namespace

absl::StatusOr<ContextConfig> ReadContextConfig(EnvReader& env) {
  ContextConfig config;
  config.listen_address = ReadServiceAddresses(env).context;
  config.redis = ReadRedisOptions(env);
  config.customers_file =
      env.String("LIVECALL_CUSTOMERS_FILE", LIVECALL_DEFAULT_DATA_DIR "/customers.json");
  config.session_ttl =
      absl::Seconds(env.Int("LIVECALL_SESSION_TTL_S", 24 * 3600, 60, 30 * 24 * 3600));
  config.worker_threads = static_cast<int>(env.Int("LIVECALL_WORKER_THREADS", 8, 1, 256));

  const std::string api_key = env.OptionalString("LIVECALL_CRM_API_KEY");
  config.crm.lookup_url_template = env.OptionalString("LIVECALL_CRM_LOOKUP_URL");
  CheckHttpUrl(env, "LIVECALL_CRM_LOOKUP_URL", config.crm.lookup_url_template);
  if (!config.crm.lookup_url_template.empty() &&
      config.crm.lookup_url_template.find("{phone}") == std::string::npos) {
    env.AddError("LIVECALL_CRM_LOOKUP_URL", "must contain {phone}");
  }
  config.crm.api_key = api_key;
  config.crm.timeout = env.Millis("LIVECALL_CRM_TIMEOUT_MS", absl::Milliseconds(1500),
                                  absl::Milliseconds(50), absl::Seconds(60));
  config.crm.fresh_for =
      absl::Seconds(env.Int("LIVECALL_CRM_CACHE_FRESH_S", 300, 0, 7 * 24 * 3600));
  config.crm.keep_for =
      absl::Seconds(env.Int("LIVECALL_CRM_CACHE_KEEP_S", 7 * 24 * 3600, 60, 90 * 24 * 3600));

  config.outbox.webhook_url = env.OptionalString("LIVECALL_CRM_WEBHOOK_URL");
  CheckHttpUrl(env, "LIVECALL_CRM_WEBHOOK_URL", config.outbox.webhook_url);
  config.outbox.api_key = api_key;
  config.outbox.consumer = ConsumerName();
  config.outbox.timeout = env.Millis("LIVECALL_CRM_WEBHOOK_TIMEOUT_MS", absl::Seconds(5),
                                     absl::Milliseconds(100), absl::Seconds(120));
  config.outbox.initial_backoff = env.Millis("LIVECALL_OUTBOX_INITIAL_BACKOFF_MS", absl::Seconds(1),
                                             absl::Milliseconds(10), absl::Minutes(10));
  config.outbox.max_backoff = env.Millis("LIVECALL_OUTBOX_MAX_BACKOFF_MS", absl::Minutes(5),
                                         absl::Milliseconds(10), absl::Hours(6));
  config.grpc_auth = ReadGrpcAuthConfig(env, /*serves_grpc=*/true, /*dials_peers=*/false);
  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::context
