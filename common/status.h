#ifndef LIVECALL_COMMON_STATUS_H_
#define LIVECALL_COMMON_STATUS_H_

// absl::Status <-> grpc::Status in one place (gRPC 1.51 has no conversion of its own), and the
// RETURN_IF_ERROR / ASSIGN_OR_RETURN macros that Abseil 20220623 does not ship.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace livecall {

// Codes are numerically identical in both libraries; the message travels unchanged.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace livecall

#define LIVECALL_STATUS_CONCAT_INNER_(a, b) a##b
#define LIVECALL_STATUS_CONCAT_(a, b) LIVECALL_STATUS_CONCAT_INNER_(a, b)

#define LIVECALL_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::absl::Status livecall_status_ = (expr);            \
    if (!livecall_status_.ok()) return livecall_status_; \
  } while (false)

#define LIVECALL_ASSIGN_OR_RETURN(lhs, expr) \
  LIVECALL_ASSIGN_OR_RETURN_IMPL_(LIVECALL_STATUS_CONCAT_(livecall_statusor_, __LINE__), lhs, expr)

#define LIVECALL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = *std::move(statusor)

#endif  // LIVECALL_COMMON_STATUS_H_
