#include "services/call-control/call_control_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/language.h"
#include "common/phone_number.h"
#include "common/unary_reactor.h"

namespace livecall::call_control {

absl::StatusOr<livecall::v1::Call> CallControlService::Place(
    const livecall::v1::PlaceCallRequest& request) {
  if (request.to().empty()) return absl::InvalidArgumentError("to is required");
  absl::StatusOr<std::string> to = NormalizePhoneNumber(request.to());
  if (!to.ok()) return absl::InvalidArgumentError(absl::StrCat("to: ", to.status().message()));
  absl::StatusOr<std::string> from =
      NormalizePhoneNumber(request.from().empty() ? default_caller_id_ : request.from());
  if (!from.ok())
    return absl::InvalidArgumentError(absl::StrCat("from: ", from.status().message()));
  if (absl::StripAsciiWhitespace(request.text()).empty()) {
    return absl::InvalidArgumentError("text is required: what the call says to the callee");
  }
  if (request.text().size() > kMaxSpokenTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is longer than ", kMaxSpokenTextLength, " characters"));
  }
  const std::string language = request.language().empty() ? "uz" : request.language();
  if (!IsSupportedLanguage(language)) {
    return absl::InvalidArgumentError(
        absl::StrCat("language \"", request.language(), "\" is not one of uz, ru, en"));
  }
  livecall::v1::Call call;
  call.set_to(*to);
  call.set_from(*from);
  call.set_text(request.text());
  call.set_voice(request.voice());
  call.set_language(language);
  return provider_.Place(std::move(call));
}

grpc::ServerUnaryReactor* CallControlService::PlaceCall(
    grpc::CallbackServerContext* context, const livecall::v1::PlaceCallRequest* request,
    livecall::v1::Call* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response, Place(*request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CallControlService::GetCall(grpc::CallbackServerContext* context,
                                                      const livecall::v1::GetCallRequest* request,
                                                      livecall::v1::Call* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response, calls_.Get(request->call_sid()));
    return absl::OkStatus();
  });
}

}  // namespace livecall::call_control
