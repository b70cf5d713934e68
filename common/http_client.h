#ifndef LIVECALL_COMMON_HTTP_CLIENT_H_
#define LIVECALL_COMMON_HTTP_CLIENT_H_

// Outbound HTTP (LLM, CRM, Twilio REST) behind an interface, with libcurl as the one real
// implementation. Calls block: run them on a worker pool, never on an I/O thread.

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/circuit_breaker.h"

namespace livecall {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The whole exchange, connect included, must finish within this.
  absl::Duration timeout = absl::Seconds(2);
  absl::Duration connect_timeout = absl::Seconds(1);
  // When set, the body is handed over as it arrives (streamed responses such as SSE) instead of
  // being collected; returning false aborts the transfer (CANCELLED).
  std::function<bool(absl::string_view chunk)> on_body_chunk;
  // "user:password" for HTTP Basic authentication; empty for none.
  std::string basic_auth;
  // The remote system, as the metrics label `target` ("llm", "twilio", "crm"); empty: the client's
  // default (CurlHttpClient's constructor). A small fixed set of names, never a URL.
  std::string metrics_target;
};

// An HTTP response as a client received it: the one response type of every HTTP client here
// (CurlHttpClient below, and the tests' client in tests/support/http_client.h). What the gateway
// answers is another thing (services/gateway/http_response.h: a body that may be streamed).
struct HttpResponse {
  // 0 when no HTTP response arrived (only the tests' client answers so; it then puts why in
  // `body`).
  long status = 0;
  std::string body;
  // Lower-case names; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;

  // The header with this (lower-case) name, or empty.
  std::string Header(absl::string_view name) const;
};

// "HTTP <status> body: <body>": what a failed EXPECT or a log line shows.
std::ostream& operator<<(std::ostream& out, const HttpResponse& response);

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Any HTTP status is a response, not an error. Errors: DEADLINE_EXCEEDED when `timeout` ran out,
  // UNAVAILABLE when the server cannot be reached, CANCELLED when on_body_chunk stopped it,
  // INVALID_ARGUMENT for a malformed URL.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// libcurl, one easy handle per calling thread, kept for connection reuse.
// CurlGlobalInit() must run once in main() before any thread starts.
// Every request is timed and counted by target and outcome (common/metrics.h).
// Each target has a circuit breaker (common/circuit_breaker.h): once it is known to be down
// (refused connections, timeouts, 502/503/504 several times in a row), its requests fail at once
// with UNAVAILABLE, and one per open period probes whether it is back.
class CurlHttpClient final : public HttpClient {
 public:
  // `default_target` labels the metrics of requests that name no metrics_target.
  explicit CurlHttpClient(std::string default_target = "other",
                          CircuitBreaker::Options breaker = {})
      : default_target_(std::move(default_target)), breaker_options_(std::move(breaker)) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  absl::StatusOr<HttpResponse> Perform(const HttpRequest& request);
  CircuitBreaker& BreakerFor(const std::string& target) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string default_target_;
  const CircuitBreaker::Options breaker_options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<CircuitBreaker>> breakers_ ABSL_GUARDED_BY(mu_);
};

void CurlGlobalInit();

}  // namespace livecall

#endif  // LIVECALL_COMMON_HTTP_CLIENT_H_
