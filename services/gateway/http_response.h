#ifndef LIVECALL_SERVICES_GATEWAY_HTTP_RESPONSE_H_
#define LIVECALL_SERVICES_GATEWAY_HTTP_RESPONSE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall::gateway {

inline constexpr absl::string_view kJsonContentType = "application/json; charset=utf-8";

// Where a streamed body goes: the connection. Thread-safe; calls after the connection closed are
// ignored.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Sends `data` as the next piece of the body (an HTTP/1.1 chunk; pieces that queue up behind a
  // slow write go out together).
  virtual void Write(std::string data) = 0;
  // Ends the body; the connection closes once everything is written.
  virtual void End() = 0;
};

// A body produced over time (Server-Sent Events). The server writes the head, then calls
// Start() once; it calls Stop() once when the client goes away or the server shuts down, after
// which the body must not use the sink any more (it may still hold it).
class StreamBody {
 public:
  virtual ~StreamBody() = default;
  virtual void Start(std::shared_ptr<StreamSink> sink) = 0;
  virtual void Stop() = 0;
};

// What a handler answers; the HTTP server adds the framing headers (Content-Length, Connection,
// X-Request-Id). Content-Type defaults to JSON because every route of the gateway speaks JSON.
struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = std::string(kJsonContentType);
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, `body` is ignored and the body is streamed (chunked) from here.
  std::shared_ptr<StreamBody> stream;
  // What the gateway logs about this answer, with the request id, and never sends: the internal
  // detail behind an error's stable message (error_response.h).
  std::string log_detail;
  // A stream is ended (cleanly, the client may reconnect) at this time: the expiry of the token
  // that opened it.
  absl::Time stream_ends_at = absl::InfiniteFuture();
};

inline HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_HTTP_RESPONSE_H_
