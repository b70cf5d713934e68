#ifndef LIVECALL_SERVICES_GATEWAY_ERROR_RESPONSE_H_
#define LIVECALL_SERVICES_GATEWAY_ERROR_RESPONSE_H_

// The one place where gRPC status codes become HTTP statuses, and the one shape of error body:
//   {"error":{"code":"INVALID_ARGUMENT","message":"...","requestId":"..."}}
// `code` is the gRPC canonical code name, or for errors that exist only at the HTTP level
// (405, 413, 431) an upper-case name of the HTTP status; `requestId` is the X-Request-Id of the
// exchange (AttachRequestId), which the log lines about it carry too.
//
// Which messages reach the client: those of the codes that say what the client can change or
// must know — INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS,
// ABORTED, PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED — are written by our services
// for the client ("phone number is not valid", "call CA1 is not in progress") and are passed on.
// The others — INTERNAL, UNKNOWN, DATA_LOSS, UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED,
// UNIMPLEMENTED — carry internal detail (gRPC transport text, Redis errors, addresses): the
// client gets a stable message for the code, and the detail goes to the log.

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/gateway/http_response.h"
#include "services/gateway/json_output.h"

namespace livecall::gateway {

// The table Envoy's grpcToHttpStatus and grpc-gateway agree on (cloud.google.com/apis/design/
// errors); FAILED_PRECONDITION is 400, not 412. Unknown or out-of-range codes are 500.
int HttpStatusFromGrpc(grpc::StatusCode code);

// "INVALID_ARGUMENT", "NOT_FOUND", ... (absl::StatusCodeToString); "UNKNOWN" for a value outside
// the enum.
std::string GrpcCodeName(grpc::StatusCode code);

// The error body, printed by protobuf (json_output.h). Any invalid UTF-8 in the message (it may
// quote client input) is replaced by U+FFFD so the body is always valid JSON.
std::string ErrorBody(absl::string_view code, absl::string_view message);

// Whether a status of `code` keeps its own message in the answer (see above).
bool MessageIsForClients(grpc::StatusCode code);

// A response for a failed backend call or a failed step inside the gateway. `status` must not be
// OK (an OK status is treated as UNKNOWN: it is a bug to call this with one). For a code whose
// message is not for clients, the body has the code's stable message and `log_detail` the
// status' own.
HttpResponse ErrorResponse(const grpc::Status& status);
HttpResponse ErrorResponse(const absl::Status& status);

// A response for an HTTP-level error that has no gRPC counterpart (404 route, 405, 413, 431).
HttpResponse HttpErrorResponse(int http_status, absl::string_view code, absl::string_view message);

// Adds `"requestId":"<request_id>"` to an error body of the shape above (any other body, and one
// that has it already, is left as it is).
void AttachRequestId(HttpResponse* response, absl::string_view request_id);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_ERROR_RESPONSE_H_
