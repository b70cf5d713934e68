#ifndef LIVECALL_TESTS_SUPPORT_HTTP_CLIENT_H_
#define LIVECALL_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <map>
#include <string>

#include "absl/time/time.h"
#include "common/http_client.h"

namespace livecall::testing {

// The services' client response type (common/http_client.h), so a test reads an answer as the
// services read theirs. Status 0: no HTTP response arrived (connection refused, timeout), and
// `body` says why.
using HttpResponse = ::livecall::HttpResponse;

// One blocking HTTP/1.1 request through libcurl. `method` is sent as is ("GET", "POST", "PATCH").
// A non-empty body is sent with Content-Type: application/json unless `headers` names another.
// No "Expect: 100-continue" is sent, so large bodies go out at once.
HttpResponse HttpRequest(const std::string& method, const std::string& url,
                         const std::string& body = "",
                         const std::map<std::string, std::string>& headers = {},
                         absl::Duration timeout = absl::Seconds(10));

// Percent-encodes everything except RFC 3986 unreserved characters ("+" becomes "%2B").
std::string UrlEncode(const std::string& text);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_HTTP_CLIENT_H_
