#include "services/gateway/stages/twilio_webhook_handler.h"

#include <string>
#include <utility>

#include "livecall/v1/twilio_webhooks.pb.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {

void TwilioWebhookHandler::Serve(const Exchange& exchange, HttpResponder respond) const {
  livecall::v1::TwilioWebhookRequest webhook;
  for (const auto& [name, value] : exchange.webhook_params) {
    webhook.mutable_params()->insert({name, value});
  }
  for (const auto& [name, value] : exchange.webhook_query) {
    webhook.mutable_query()->insert({name, value});
  }
  const Route& route = exchange.route();
  BackendRequest call;
  call.service = route.method->service()->full_name();
  call.method_path = route.grpc_path;
  call.deadline = deadline_;
  call.metadata.emplace_back("x-request-id", exchange.request_id);
  if (!webhook.SerializeToString(&call.payload)) {
    return respond(ErrorResponse(absl::InternalError("cannot serialize the request")));
  }
  const bool answers_twiml =
      route.method->output_type() == livecall::v1::TwimlResponse::descriptor();
  backend_->Call(std::move(call),
                 AnswerWith(std::move(respond), [answers_twiml](std::string payload) {
                   HttpResponse response;
                   if (!answers_twiml) {
                     response.status = 204;
                     response.content_type = "text/plain";
                     return response;
                   }
                   livecall::v1::TwimlResponse twiml;
                   if (!twiml.ParseFromString(payload)) return UnparsableReply();
                   response.status = 200;
                   response.content_type = "text/xml; charset=utf-8";
                   response.body = std::move(*twiml.mutable_twiml());
                   return response;
                 }));
}

}  // namespace livecall::gateway
