#include "services/gateway/stages/backend_call_handler.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "livecall/v1/http.pb.h"
#include "services/gateway/error_response.h"
#include "services/gateway/transcoder.h"

namespace livecall::gateway {
namespace {

// gRPC metadata values must be printable ASCII; refusing others here gives the client a clear
// 400 instead of a call that fails inside gRPC.
bool IsMetadataSafe(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// A (raw_response) route's answer: the bytes as they are, with their type and cache headers; 304
// when the client already holds this ETag.
HttpResponse RawResponse(livecall::v1::HttpBody body, const std::string& if_none_match) {
  HttpResponse response;
  response.content_type = body.content_type().empty() ? "application/octet-stream"
                                                      : std::move(*body.mutable_content_type());
  if (!body.cache_control().empty()) {
    response.headers.emplace_back("Cache-Control", body.cache_control());
  }
  if (!body.etag().empty()) {
    response.headers.emplace_back("ETag", body.etag());
    if (if_none_match == body.etag()) {
      response.status = 304;
      return response;
    }
  }
  response.status = 200;
  response.body = std::move(*body.mutable_data());
  return response;
}

// A signed audio route's {file_name} ("<signed id>.wav") checked as call-control would check it.
absl::Status VerifySignedAudioId(const AudioUrlSigner& signer, const RouteMatch& match) {
  for (const auto& [field, value] : match.bindings) {
    if (field != match.route->signed_file_name) continue;
    absl::string_view id = value;
    if (!absl::ConsumeSuffix(&id, ".wav")) {
      return absl::NotFoundError("speech audio is served as <id>.wav");
    }
    return signer.Verify(id, absl::Now()).status();
  }
  return absl::OkStatus();
}

}  // namespace

void BackendCallHandler::Serve(const Exchange& exchange, HttpResponder respond) const {
  const Route& route = exchange.route();
  BackendRequest call;
  call.service = route.method->service()->full_name();
  call.method_path = route.grpc_path;
  call.deadline = deadline_;

  if (auto id = exchange.request.find("x-request-id");
      id != exchange.request.end() &&
      !IsValidRequestId(absl::string_view(id->value().data(), id->value().size()))) {
    return respond(HttpErrorResponse(
        400, "INVALID_ARGUMENT", "malformed X-Request-Id header (1-128 visible ASCII characters)"));
  }
  call.metadata = CallerMetadata(exchange.request_id, exchange.caller);
  if (auto key = exchange.request.find("idempotency-key"); key != exchange.request.end()) {
    const absl::string_view value(key->value().data(), key->value().size());
    if (value.empty() || value.size() > 255 || !IsMetadataSafe(value)) {
      return respond(HttpErrorResponse(
          400, "INVALID_ARGUMENT", "malformed Idempotency-Key header (1-255 visible characters)"));
    }
    call.metadata.emplace_back("idempotency-key", std::string(value));
  }

  // JSON straight to wire bytes (transcoder.h): no message is built on the way.
  absl::StatusOr<std::string> payload =
      BuildRequestPayload(exchange.match, exchange.request.body(), exchange.query);
  if (!payload.ok()) {
    return ownership_.RefuseAfterCheck(exchange, ErrorResponse(payload.status()),
                                       std::move(respond));
  }
  call.payload = *std::move(payload);

  if (route.raw_response) {
    if (tts_signer_ != nullptr) {
      if (absl::Status signed_id = VerifySignedAudioId(*tts_signer_, exchange.match);
          !signed_id.ok()) {
        return respond(ErrorResponse(signed_id));
      }
    }
    std::string if_none_match(exchange.Header(boost::beast::http::field::if_none_match));
    backend_->Call(std::move(call),
                   AnswerWith(std::move(respond),
                              [if_none_match = std::move(if_none_match)](std::string payload) {
                                livecall::v1::HttpBody body;
                                if (!body.ParseFromString(payload)) return UnparsableReply();
                                return RawResponse(std::move(body), if_none_match);
                              }));
    return;
  }
  const google::protobuf::Descriptor* output_type = route.method->output_type();
  backend_->Call(std::move(call),
                 AnswerWith(std::move(respond), [output_type](std::string payload) {
                   absl::StatusOr<std::string> json = PayloadToJson(output_type, payload);
                   if (!json.ok()) return ErrorResponse(json.status());
                   return JsonResponse(200, *std::move(json));
                 }));
}

}  // namespace livecall::gateway
