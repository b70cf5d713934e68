#ifndef LIVECALL_SERVICES_GATEWAY_STAGES_RATE_LIMIT_STAGE_H_
#define LIVECALL_SERVICES_GATEWAY_STAGES_RATE_LIMIT_STAGE_H_

// Token buckets (rate_limiter.h), after auth_stage: a request whose bearer token verified spends
// its agent's bucket, whatever address it shares (an office NAT); any other — public routes, no
// token, a refused one — its client address's. The operational routes stay out of it (probes and
// scrapers call them from a few addresses), and so does what Twilio calls (webhooks, signed
// audio): its few addresses carry every call's traffic. Over a limit: 429 with Retry-After.

#include <optional>
#include <string>

#include "services/gateway/rate_limiter.h"
#include "services/gateway/stages/stage.h"

namespace livecall::gateway {

// The client's address: `peer_ip`, or with `trusted_proxy_hops` proxies in front the
// X-Forwarded-For entry that many hops from the right.
std::string ClientIp(const HttpRequest& request, const std::string& peer_ip,
                     int trusted_proxy_hops);

class RateLimitStage : public Stage {
 public:
  // Null limiter: no limit. Both must outlive the stage.
  RateLimitStage(RateLimiter* per_agent, RateLimiter* per_address, int trusted_proxy_hops)
      : per_agent_(per_agent), per_address_(per_address), trusted_proxy_hops_(trusted_proxy_hops) {}

  std::optional<HttpResponse> Process(Exchange& exchange) const override;

 private:
  RateLimiter* per_agent_;
  RateLimiter* per_address_;
  const int trusted_proxy_hops_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_STAGES_RATE_LIMIT_STAGE_H_
