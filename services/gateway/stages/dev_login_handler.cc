#include "services/gateway/stages/dev_login_handler.h"

#include <memory>
#include <utility>

#include "absl/time/clock.h"
#include "livecall/v1/auth.pb.h"
#include "services/gateway/agent_auth.h"
#include "services/gateway/error_response.h"
#include "services/gateway/transcoder.h"

namespace livecall::gateway {

void DevLoginHandler::Serve(const Exchange& exchange, HttpResponder respond) const {
  if (!options_.enabled || !options_.jwt.has_secret()) {
    return respond(HttpErrorResponse(404, "NOT_FOUND",
                                     "the dev login is off (LIVECALL_DEV_LOGIN=on turns it on)"));
  }
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
      BuildRequestMessage(exchange.match, exchange.request.body(), exchange.query);
  if (!message.ok()) return respond(ErrorResponse(message.status()));
  absl::StatusOr<livecall::v1::DevLoginResponse> login =
      DevLogin(static_cast<const livecall::v1::DevLoginRequest&>(**message), options_.jwt.secret(),
               options_.ttl, absl::Now(), options_.audience);
  if (!login.ok()) return respond(ErrorResponse(login.status()));
  absl::StatusOr<std::string> json = MessageToJson(*login);
  if (!json.ok()) return respond(ErrorResponse(json.status()));
  respond(JsonResponse(200, *std::move(json)));
}

}  // namespace livecall::gateway
