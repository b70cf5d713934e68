#include "services/gateway/stages/rate_limit_stage.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {
namespace {

// 429 with Retry-After in whole seconds (at least 1), the one error shape.
HttpResponse TooManyRequests(absl::Duration wait, absl::string_view who) {
  const int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))));
  HttpResponse response = HttpErrorResponse(
      429, "RESOURCE_EXHAUSTED",
      absl::StrCat("too many requests from this ", who, "; retry in ", seconds, " s"));
  response.headers.emplace_back("Retry-After", absl::StrCat(seconds));
  return response;
}

}  // namespace

std::string ClientIp(const HttpRequest& request, const std::string& peer_ip,
                     int trusted_proxy_hops) {
  if (trusted_proxy_hops <= 0) return peer_ip;
  auto header = request.find("x-forwarded-for");
  if (header == request.end()) return peer_ip;
  const absl::string_view forwarded(header->value().data(), header->value().size());
  std::vector<absl::string_view> hops = absl::StrSplit(forwarded, ',', absl::SkipWhitespace());
  // The last `trusted_proxy_hops` entries were appended by our proxies; the one before them is
  // what the outermost trusted proxy saw. Anything further left the client could have written.
  const int index = static_cast<int>(hops.size()) - trusted_proxy_hops;
  if (forwarded.empty() || index < 0) return peer_ip;
  return std::string(absl::StripAsciiWhitespace(hops[static_cast<size_t>(index)]));
}

std::optional<HttpResponse> RateLimitStage::Process(Exchange& exchange) const {
  if (!exchange.caller.agent_id.empty()) {
    if (per_agent_ == nullptr) return std::nullopt;
    const absl::Duration wait = per_agent_->Acquire(exchange.caller.agent_id, absl::Now());
    if (wait > absl::ZeroDuration()) return TooManyRequests(wait, "agent");
    return std::nullopt;
  }
  const Route& route = exchange.route();
  if (per_address_ == nullptr || route.builtin ||
      (route.access != RouteAccess::kBearer && route.access != RouteAccess::kPublic)) {
    return std::nullopt;
  }
  const absl::Duration wait = per_address_->Acquire(
      ClientIp(exchange.request, exchange.peer_ip, trusted_proxy_hops_), absl::Now());
  if (wait > absl::ZeroDuration()) return TooManyRequests(wait, "address");
  return std::nullopt;
}

}  // namespace livecall::gateway
