#include "services/gateway/error_response.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace livecall::gateway {

int HttpStatusFromGrpc(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    // FAILED_PRECONDITION is "not in a state for that" (hold a call that is not in progress,
    // add a turn to an ended session): HTTP's 409 Conflict, not a malformed request.
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
    default:
      return 500;
  }
}

std::string GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

std::string ToValidUtf8(absl::string_view text) {
  static constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t min_code_point = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      min_code_point = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      min_code_point = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      min_code_point = 0x10000;
    }
    bool valid = length != 0 && i + length <= text.size();
    uint32_t code_point = valid ? (c & (0x7F >> length)) : 0;
    for (size_t k = 1; valid && k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) {
        valid = false;
      } else {
        code_point = (code_point << 6) | (next & 0x3F);
      }
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8 either.
    if (valid && (code_point < min_code_point || code_point > 0x10FFFF ||
                  (code_point >= 0xD800 && code_point <= 0xDFFF))) {
      valid = false;
    }
    if (valid) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out.append(kReplacement.data(), kReplacement.size());
      ++i;
    }
  }
  return out;
}

std::string ErrorBody(absl::string_view code, absl::string_view message) {
  return absl::StrCat("{\"error\":{\"code\":\"", JsonEscape(ToValidUtf8(code)), "\",\"message\":\"",
                      JsonEscape(ToValidUtf8(message)), "\"}}");
}

bool MessageIsForClients(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

namespace {

// What the client reads for a code whose own message stays in the log.
absl::string_view StableMessage(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
      return "a service this request needs is unavailable; retry shortly";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "a service this request needs did not answer in time; retry shortly";
    case grpc::StatusCode::CANCELLED:
      return "the request was cancelled";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "not implemented by this deployment";
    default:
      return "internal error";
  }
}

}  // namespace

HttpResponse ErrorResponse(const grpc::Status& status) {
  grpc::StatusCode code = status.error_code();
  if (code == grpc::StatusCode::OK) code = grpc::StatusCode::UNKNOWN;
  HttpResponse response;
  response.status = HttpStatusFromGrpc(code);
  if (MessageIsForClients(code)) {
    response.body = ErrorBody(GrpcCodeName(code), status.error_message());
  } else {
    response.body = ErrorBody(GrpcCodeName(code), StableMessage(code));
    response.log_detail = absl::StrCat(GrpcCodeName(code), ": ", status.error_message());
  }
  // A service out of a resource (the outbound-call cap, Twilio's own 429) frees it within
  // seconds; the gateway's rate limits write their own exact Retry-After.
  if (response.status == 429) response.headers.emplace_back("Retry-After", "5");
  return response;
}

HttpResponse ErrorResponse(const absl::Status& status) {
  // The two enums are numerically identical (common/status.h relies on the same fact).
  return ErrorResponse(
      grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())));
}

void AttachRequestId(HttpResponse* response, absl::string_view request_id) {
  static constexpr absl::string_view kPrefix = "{\"error\":{";
  static constexpr absl::string_view kSuffix = "}}";
  std::string& body = response->body;
  if (response->stream != nullptr || !absl::StartsWith(body, kPrefix) ||
      !absl::EndsWith(body, kSuffix) || absl::StrContains(body, "\"requestId\":")) {
    return;
  }
  body.insert(body.size() - kSuffix.size(),
              absl::StrCat(",\"requestId\":\"", JsonEscape(ToValidUtf8(request_id)), "\""));
}

HttpResponse HttpErrorResponse(int http_status, absl::string_view code, absl::string_view message) {
  HttpResponse response;
  response.status = http_status;
  response.body = ErrorBody(code, message);
  return response;
}

}  // namespace livecall::gateway
