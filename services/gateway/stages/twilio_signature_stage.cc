#include "services/gateway/stages/twilio_signature_stage.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "services/gateway/error_response.h"
#include "services/gateway/transcoder.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

// The first value of `name`, or null.
const std::string* FindParam(const FormParams& params, absl::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

HttpResponse Forbidden(absl::string_view message) {
  return HttpErrorResponse(403, "PERMISSION_DENIED", message);
}

}  // namespace

std::optional<HttpResponse> TwilioSignatureStage::Process(Exchange& exchange) const {
  if (exchange.route().access != RouteAccess::kTwilioSignature) return std::nullopt;
  if (options_.auth_token.empty()) {
    return Forbidden(
        "Twilio webhooks are refused: no TWILIO_AUTH_TOKEN is configured to verify them");
  }
  const absl::string_view signature = exchange.Header("x-twilio-signature");
  if (signature.empty()) return Forbidden("missing X-Twilio-Signature header");
  const std::string& body = exchange.request.body();
  const absl::string_view type = exchange.Header(boost::beast::http::field::content_type);
  const bool json_body = absl::StartsWithIgnoreCase(type, "application/json");
  if (!body.empty() && !json_body &&
      !absl::StartsWithIgnoreCase(type, "application/x-www-form-urlencoded")) {
    return HttpErrorResponse(415, "UNSUPPORTED_MEDIA_TYPE",
                             "a Twilio webhook body is application/x-www-form-urlencoded, "
                             "or application/json with bodySHA256 in the URL");
  }
  absl::StatusOr<FormParams> query = ParseQuery(exchange.query);
  if (!query.ok()) return ErrorResponse(query.status());
  const absl::string_view target(exchange.request.target().data(),
                                 exchange.request.target().size());
  const std::string url = absl::StrCat(options_.public_url, target);
  FormParams params;
  if (const std::string* body_sha256 = FindParam(*query, "bodySHA256")) {
    // A JSON-bodied webhook (DIGEST.md §2.4): the URL alone is signed, and the URL's bodySHA256
    // vouches for the body.
    if (!ValidateTwilioBodySignature(options_.auth_token, url, body, *body_sha256, signature)) {
      return Forbidden(
          "X-Twilio-Signature does not verify for this URL, or the body does not hash to the "
          "URL's bodySHA256");
    }
    absl::StatusOr<FormParams> fields =
        json_body && !body.empty() ? JsonObjectToParams(body) : ParseQuery(body);
    if (!fields.ok()) return ErrorResponse(fields.status());
    params = *std::move(fields);
  } else {
    if (json_body && !body.empty()) {
      return Forbidden(
          "a JSON webhook body is signed through bodySHA256 in the URL, and this URL has none");
    }
    absl::StatusOr<FormParams> form = ParseQuery(body);
    if (!form.ok()) {
      return Forbidden("the form body cannot be decoded, so the signature cannot be verified");
    }
    if (!ValidateTwilioSignature(options_.auth_token, url, *form, signature)) {
      return Forbidden("X-Twilio-Signature does not verify for this URL and body");
    }
    params = *std::move(form);
  }
  if (absl::Status fresh = CheckTwilioReplayWindow(params, absl::Now(), options_.replay_window);
      !fresh.ok()) {
    if (!exchange.route().replay_safe_webhook) return ErrorResponse(fresh);
    LogWarning("stale Twilio callback accepted", {{"request_id", exchange.request_id},
                                                  {"route", exchange.route().path.pattern()},
                                                  {"reason", std::string(fresh.message())}});
  }
  exchange.webhook_params = std::move(params);
  exchange.webhook_query = *std::move(query);
  return std::nullopt;
}

}  // namespace livecall::gateway
