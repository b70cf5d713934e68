#ifndef LIVECALL_COMMON_REQUEST_ID_H_
#define LIVECALL_COMMON_REQUEST_ID_H_

// The x-request-id of the request a thread is working for, so that the calls it makes to peer
// services carry it on (PreparePeerCall, common/grpc_server.h) and one id follows a request
// through every service's log. The gateway sets it (from the client's X-Request-Id or a new one);
// QueuedUnaryMethods (common/queued_unary.h) scopes it around an RPC's work, and CallScope carries
// it along a chain of peer calls.

#include <grpcpp/grpcpp.h>

#include <string>

namespace livecall {

inline constexpr char kRequestIdMetadata[] = "x-request-id";

// The caller's x-request-id metadata, or empty.
std::string RequestIdOf(const grpc::ServerContextBase& context);

// The id of the request this thread works for; empty outside one.
const std::string& CurrentRequestId();

// Sets this thread's request id for its lifetime and restores the previous one after.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_REQUEST_ID_H_
