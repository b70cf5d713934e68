#include "services/gateway/stages/stage.h"

#include <utility>

#include "common/caller_identity.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {
namespace {

absl::string_view View(boost::beast::string_view text) { return {text.data(), text.size()}; }

}  // namespace

absl::string_view Exchange::Header(absl::string_view name) const {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  return it == request.end() ? absl::string_view() : View(it->value());
}

absl::string_view Exchange::Header(boost::beast::http::field name) const {
  auto it = request.find(name);
  return it == request.end() ? absl::string_view() : View(it->value());
}

BackendCallback AnswerWith(HttpResponder respond,
                           std::function<HttpResponse(std::string payload)> answer) {
  return [respond = std::move(respond), answer = std::move(answer)](const grpc::Status& status,
                                                                    std::string payload) {
    try {
      if (!status.ok()) return respond(ErrorResponse(status));
      respond(answer(std::move(payload)));
    } catch (...) {
      respond(HttpErrorResponse(500, "INTERNAL", "internal error"));
    }
  };
}

HttpResponse UnparsableReply() {
  return ErrorResponse(absl::InternalError("the backend's answer cannot be parsed"));
}

std::vector<std::pair<std::string, std::string>> CallerMetadata(const std::string& request_id,
                                                                const AuthenticatedAgent& caller) {
  std::vector<std::pair<std::string, std::string>> metadata = {{"x-request-id", request_id}};
  if (!caller.agent_id.empty()) {
    metadata.emplace_back(kAgentMetadata, caller.agent_id);
    metadata.emplace_back(kRoleMetadata, RoleName(caller.role));
  }
  return metadata;
}

}  // namespace livecall::gateway
