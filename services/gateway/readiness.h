#ifndef LIVECALL_SERVICES_GATEWAY_READINESS_H_
#define LIVECALL_SERVICES_GATEWAY_READINESS_H_

// GET /readyz: the gateway is ready when every backend answers grpc.health.v1 Check with SERVING
// and Redis answers PING. All checks run at once and none blocks the caller: the gRPC checks use
// the callback client, the Redis PING (hiredis blocks) runs on a small Executor.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "common/redis_pool.h"
#include "services/gateway/http_response.h"

namespace livecall::gateway {

// Starts one check; calls `done` exactly once, from any thread, without blocking the caller.
using ReadinessCheck = std::function<void(std::function<void(absl::Status)> done)>;

// Health/Check("") on `channel` with `timeout`; OK only for SERVING.
ReadinessCheck GrpcHealthCheck(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);

// PING through `pool`, run on `executor`. Both must outlive every check started.
ReadinessCheck RedisPingCheck(RedisPool* pool, Executor* executor);

class ReadinessChecker {
 public:
  // `checks`: JSON key ("callControl", "redis", ...) and check, reported in this order.
  explicit ReadinessChecker(std::vector<std::pair<std::string, ReadinessCheck>> checks);

  // Runs every check; `done` gets 200 {"status":"ready","checks":{"redis":"ok",...}} or 503
  // {"status":"not ready","checks":{...,"redis":"UNAVAILABLE: ..."}}.
  void Check(std::function<void(HttpResponse)> done) const;

 private:
  std::vector<std::pair<std::string, ReadinessCheck>> checks_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_READINESS_H_
