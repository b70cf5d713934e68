#include "services/gateway/error_response.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/gateway/json_output.h"

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
  // gRPC's and absl's codes are the same numbers with the same canonical names.
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

std::string ErrorBody(absl::string_view code, absl::string_view message) {
  google::protobuf::Struct error;
  (*error.mutable_fields())["code"] = JsonString(code);
  (*error.mutable_fields())["message"] = JsonString(message);
  google::protobuf::Struct body;
  *(*body.mutable_fields())["error"].mutable_struct_value() = std::move(error);
  return PrintJson(body);
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
  if (response->stream != nullptr || !absl::StartsWith(response->body, "{\"error\":{")) return;
  google::protobuf::Struct body;
  if (!google::protobuf::util::JsonStringToMessage(response->body, &body).ok() ||
      body.fields().size() != 1) {
    return;
  }
  google::protobuf::Value& error = (*body.mutable_fields())["error"];
  if (!error.has_struct_value() || error.struct_value().fields().count("requestId") > 0) return;
  (*error.mutable_struct_value()->mutable_fields())["requestId"] = JsonString(request_id);
  response->body = PrintJson(body);
}

HttpResponse HttpErrorResponse(int http_status, absl::string_view code, absl::string_view message) {
  HttpResponse response;
  response.status = http_status;
  response.body = ErrorBody(code, message);
  return response;
}

}  // namespace livecall::gateway
