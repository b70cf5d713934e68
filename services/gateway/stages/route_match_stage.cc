#include "services/gateway/stages/route_match_stage.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {
namespace {

HttpResponse MethodNotAllowed(const std::vector<std::string>& allowed) {
  const std::string allow = absl::StrJoin(allowed, ", ");
  HttpResponse response = HttpErrorResponse(
      405, "METHOD_NOT_ALLOWED", absl::StrCat("method not allowed; this path accepts ", allow));
  response.headers.emplace_back("Allow", allow);
  return response;
}

}  // namespace

std::optional<HttpResponse> RouteMatchStage::Process(Exchange& exchange) const {
  exchange.match = routes_->Match(exchange.method, exchange.path);
  switch (exchange.match.result) {
    case RouteMatch::Result::kNotFound:
      if (console_ != nullptr && (exchange.method == "GET" || exchange.method == "HEAD")) {
        std::optional<HttpResponse> file = console_->Serve(
            exchange.path, exchange.Header(boost::beast::http::field::if_none_match));
        if (file.has_value()) {
          *exchange.route_label = "console";
          return file;
        }
      }
      return HttpErrorResponse(404, "NOT_FOUND",
                               absl::StrCat("no route for ", exchange.method, " ", exchange.path));
    case RouteMatch::Result::kMethodNotAllowed:
      return MethodNotAllowed(exchange.match.allowed_methods);
    case RouteMatch::Result::kBadRequest:
      return ErrorResponse(exchange.match.error);
    case RouteMatch::Result::kMatched:
      break;
  }
  *exchange.route_label = exchange.route().path.pattern();
  return std::nullopt;
}

}  // namespace livecall::gateway
