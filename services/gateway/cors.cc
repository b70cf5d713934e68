#include "services/gateway/cors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {
namespace {

// What the page sends besides the CORS-safelisted headers.
constexpr char kAllowedHeaders[] =
    "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Last-Event-ID";
// What the page's scripts may read besides the safelisted response headers.
constexpr char kExposedHeaders[] = "X-Request-Id, Retry-After, WWW-Authenticate";

}  // namespace

bool CorsPolicy::Allows(absl::string_view origin) const {
  if (origin.empty()) return false;
  const std::string lower = absl::AsciiStrToLower(origin);
  return std::find(origins_.begin(), origins_.end(), lower) != origins_.end();
}

HttpResponse CorsPolicy::Preflight(absl::string_view origin, absl::string_view requested_method,
                                   const std::vector<std::string>& allowed_methods) const {
  const bool method_ok = std::find(allowed_methods.begin(), allowed_methods.end(),
                                   std::string(requested_method)) != allowed_methods.end();
  if (!Allows(origin) || !method_ok) {
    HttpResponse refused = HttpErrorResponse(
        403, "PERMISSION_DENIED",
        Allows(origin) ? absl::StrCat("this path does not accept ", requested_method)
                       : "this origin is not allowed (LIVECALL_CORS_ORIGINS)");
    if (!origins_.empty()) refused.headers.emplace_back("Vary", "Origin");
    return refused;
  }
  HttpResponse response;
  response.status = 204;
  response.content_type = "text/plain";
  response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  response.headers.emplace_back("Access-Control-Allow-Methods",
                                absl::StrJoin(allowed_methods, ", "));
  response.headers.emplace_back("Access-Control-Allow-Headers", kAllowedHeaders);
  response.headers.emplace_back("Access-Control-Max-Age", "600");
  response.headers.emplace_back("Vary", "Origin");
  return response;
}

void CorsPolicy::Decorate(absl::string_view origin, HttpResponse* response) const {
  if (origins_.empty()) return;
  response->headers.emplace_back("Vary", "Origin");
  if (!Allows(origin)) return;
  response->headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  response->headers.emplace_back("Access-Control-Expose-Headers", kExposedHeaders);
}

}  // namespace livecall::gateway
