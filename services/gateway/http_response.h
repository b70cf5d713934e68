#ifndef LIVECALL_SERVICES_GATEWAY_HTTP_RESPONSE_H_
#define LIVECALL_SERVICES_GATEWAY_HTTP_RESPONSE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace livecall::gateway {

inline constexpr absl::string_view kJsonContentType = "application/json; charset=utf-8";

// What a handler answers; the HTTP server adds the framing headers (Content-Length, Connection,
// X-Request-Id). Content-Type defaults to JSON because every route of the gateway speaks JSON.
struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = std::string(kJsonContentType);
  std::vector<std::pair<std::string, std::string>> headers;
};

inline HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_HTTP_RESPONSE_H_
