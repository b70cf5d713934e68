#ifndef LIVECALL_SERVICES_GATEWAY_CORS_H_
#define LIVECALL_SERVICES_GATEWAY_CORS_H_

// Cross-origin requests from the web page (LIVECALL_CORS_ORIGINS). Only listed origins get CORS
// headers, each echoed exactly (never "*"), with `Vary: Origin`; other origins get nothing, so
// the browser keeps their scripts from reading any answer. The API authenticates with bearer
// tokens, not cookies, so Access-Control-Allow-Credentials is never sent. A preflight
// (OPTIONS with Access-Control-Request-Method) is answered here, before authentication, which a
// browser never sends with one.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/gateway/http_response.h"

namespace livecall::gateway {

class CorsPolicy {
 public:
  CorsPolicy() = default;
  // `origins`: "scheme://host[:port]", lower-case, no trailing '/'.
  explicit CorsPolicy(std::vector<std::string> origins) : origins_(std::move(origins)) {}

  bool Allows(absl::string_view origin) const;

  // The answer to a preflight from `origin` for a path that accepts `allowed_methods`: 204 with
  // the Access-Control-Allow-* headers for a listed origin and method, else 403 without them.
  HttpResponse Preflight(absl::string_view origin, absl::string_view requested_method,
                         const std::vector<std::string>& allowed_methods) const;

  // Adds Access-Control-Allow-Origin (and the exposed headers) to an answer for `origin` when it
  // is listed; always adds Vary: Origin when any origin is configured.
  void Decorate(absl::string_view origin, HttpResponse* response) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_CORS_H_
