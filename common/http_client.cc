#include "common/http_client.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/metrics.h"

namespace livecall {
namespace {

struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  bool aborted_by_caller = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->request->on_body_chunk) {
    if (!transfer->request->on_body_chunk(absl::string_view(data, bytes))) {
      transfer->aborted_by_caller = true;
      return 0;  // Makes libcurl stop with CURLE_WRITE_ERROR.
    }
  } else {
    transfer->response->body.append(data, bytes);
  }
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  absl::string_view line(data, bytes);
  if (absl::StartsWith(line, "HTTP/")) {
    transfer->response->headers.clear();  // A new response (after a redirect or 100 Continue).
    return bytes;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    transfer->response
        ->headers[absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return bytes;
}

// One handle per thread: libcurl handles must not be shared across threads, and a kept handle
// keeps its connections alive for the next request to the same host.
CURL* ThreadHandle() {
  thread_local std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
  curl_easy_reset(handle.get());
  return handle.get();
}

}  // namespace

void CurlGlobalInit() { curl_global_init(CURL_GLOBAL_ALL); }

std::string HttpResponse::Header(absl::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

std::ostream& operator<<(std::ostream& out, const HttpResponse& response) {
  return out << "HTTP " << response.status << " body: " << response.body;
}

CircuitBreaker& CurlHttpClient::BreakerFor(const std::string& target) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<CircuitBreaker>& breaker = breakers_[target];
  if (breaker == nullptr) breaker = std::make_unique<CircuitBreaker>(target, breaker_options_);
  return *breaker;
}

absl::StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  const std::string& target =
      request.metrics_target.empty() ? default_target_ : request.metrics_target;
  CircuitBreaker& breaker = BreakerFor(target);
  if (absl::Status allowed = breaker.Allow(); !allowed.ok()) return allowed;
  const absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> response = Perform(request);
  // Unreachable or overloaded counts against the target; any other answer shows it is up. A
  // transfer the caller stopped says nothing either way.
  if (response.ok()) {
    const long status = response->status;
    if (status == 502 || status == 503 || status == 504) {
      breaker.RecordFailure();
    } else {
      breaker.RecordSuccess();
    }
  } else if (absl::IsUnavailable(response.status()) ||
             absl::IsDeadlineExceeded(response.status())) {
    breaker.RecordFailure();
  }
  std::string outcome;
  if (response.ok()) {
    outcome = response->status >= 100 && response->status < 600
                  ? absl::StrCat(response->status / 100, "xx")
                  : "other";
  } else {
    outcome = absl::StatusCodeToString(response.status().code());
  }
  RecordHttpClientRequest(target, absl::Now() - start, outcome);
  return response;
}

absl::StatusOr<HttpResponse> CurlHttpClient::Perform(const HttpRequest& request) {
  CURL* curl = ThreadHandle();
  if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  HttpResponse response;
  Transfer transfer{&request, &response};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : request.headers) {
    headers.reset(curl_slist_append(headers.release(), absl::StrCat(name, ": ", value).c_str()));
  }
  // No "Expect: 100-continue" round trip for larger bodies.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!request.basic_auth.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERPWD, request.basic_auth.c_str());
  }

  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  // The handle outlives this call; drop pointers to this call's locals.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  switch (code) {
    case CURLE_OK:
      return response;
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(absl::StrCat(request.method, " ", request.url,
                                                      ": no answer within ",
                                                      absl::FormatDuration(request.timeout)));
    case CURLE_WRITE_ERROR:
      if (transfer.aborted_by_caller) {
        return absl::CancelledError(absl::StrCat(request.method, " ", request.url, ": stopped"));
      }
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(absl::StrCat("bad URL \"", request.url, "\""));
    default:
      break;
  }
  return absl::UnavailableError(
      absl::StrCat(request.method, " ", request.url, ": ", curl_easy_strerror(code)));
}

}  // namespace livecall
