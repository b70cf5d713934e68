#ifndef LIVECALL_COMMON_GRPC_OBSERVABILITY_H_
#define LIVECALL_COMMON_GRPC_OBSERVABILITY_H_

// A gRPC server interceptor that observes every RPC of a server without any code in the services:
// it counts the call by method and status code, times it (common/metrics.h) and logs one JSON line
// with the caller's `x-request-id` metadata, which the gateway sets from (or creates for) each HTTP
// request, so one request's path can be followed with grep across the services' logs.
// Health checks and reflection are logged at debug level only: Kubernetes probes them every few
// seconds.

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace livecall {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewObservabilityInterceptorFactory();

// Splits "/livecall.v1.Context/LookupCustomer" into service and method. Methods that no proto
// linked into the binary declares (a client calling an unknown path) become "unknown"/"unknown", so
// the metrics' labels stay a bounded set.
struct RpcName {
  std::string service;
  std::string method;
};
RpcName ParseRpcName(absl::string_view path);

}  // namespace livecall

#endif  // LIVECALL_COMMON_GRPC_OBSERVABILITY_H_
