#ifndef LIVECALL_SERVICES_GATEWAY_READINESS_H_
#define LIVECALL_SERVICES_GATEWAY_READINESS_H_

// GET /readyz: the gateway is ready when every backend answers grpc.health.v1 Check with SERVING
// and Redis answers PING. All checks run at once and none blocks the caller: the gRPC checks
// finish on the gateway's completion queues (client_queues.h), the Redis PING (hiredis blocks)
// runs on a small Executor.
//
// One round of checks serves every caller: an answer is reused for `cache_for` (1 s), and callers
// that come while a round is in flight wait for that round instead of starting their own, so a
// flood of /readyz costs at most one round a second (it used to queue a PING and three gRPC calls
// per request, and made every pod NotReady).

#include <google/protobuf/struct.pb.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "common/redis_pool.h"
#include "services/gateway/client_queues.h"
#include "services/gateway/http_response.h"
#include "services/gateway/http_server.h"

namespace livecall::gateway {

// Every /readyz answer names when the round of checks behind it began (RFC 3339, UTC, ms), so a
// cached answer is never mistaken for a fresh one.
inline constexpr absl::string_view kReadinessCheckedAtHeader = "X-Livecall-Readiness-Checked-At";

// {"status":"ok"}: GET /healthz's body, on either port.
std::string HealthzBody();

// GET /readyz's answer: 200 {"checks":{"redis":"ok",...},"status":"ready"}, or 503 with
// "not ready" when a check failed (its value then says why).
HttpResponse ReadinessResponse(bool ready, google::protobuf::Struct checks);

// Starts one check; calls `done` exactly once, from any thread, without blocking the caller.
using ReadinessCheck = std::function<void(std::function<void(absl::Status)> done)>;

// Health/Check("") on `channel` with `timeout`, finished on `queues`; OK only for SERVING.
ReadinessCheck GrpcHealthCheck(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
                               std::shared_ptr<ClientQueues> queues);

// PING through `pool`, run on `executor`. Both must outlive every check started.
ReadinessCheck RedisPingCheck(RedisPool* pool, Executor* executor);

struct ReadinessOptions {
  // How long one round's answer is reused.
  absl::Duration cache_for = absl::Seconds(1);
  // The clock; tests pass a fake one.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

class ReadinessChecker {
 public:
  // `checks`: JSON key ("callControl", "redis", ...) and check.
  explicit ReadinessChecker(std::vector<std::pair<std::string, ReadinessCheck>> checks,
                            ReadinessOptions options = {});
  // Waits for the round in flight, if any (its checks call back into the checker).
  ~ReadinessChecker();
  ReadinessChecker(const ReadinessChecker&) = delete;
  ReadinessChecker& operator=(const ReadinessChecker&) = delete;

  // `done` gets ReadinessResponse (a failed check's value: "UNAVAILABLE: ..."): the cached answer
  // while it is fresh, else that of the round in flight, else of a new round.
  void Check(std::function<void(HttpResponse)> done) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Finish(HttpResponse response) const ABSL_LOCKS_EXCLUDED(mu_);

  std::vector<std::pair<std::string, ReadinessCheck>> checks_;
  const ReadinessOptions options_;
  // The cache is state behind a logically const check.
  mutable absl::Mutex mu_;
  mutable std::optional<HttpResponse> cached_ ABSL_GUARDED_BY(mu_);
  mutable absl::Time cached_at_ ABSL_GUARDED_BY(mu_);
  mutable absl::Time round_started_at_ ABSL_GUARDED_BY(mu_);
  mutable bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  mutable std::vector<std::function<void(HttpResponse)>> waiting_ ABSL_GUARDED_BY(mu_);
};

// The admin port's handler (LIVECALL_ADMIN_ADDR): GET /healthz, /readyz (through `readiness`,
// which must outlive it) and /metrics; everything else 404. The public port serves none of
// /readyz and /metrics, so a flood through the Ingress cannot reach the probes.
class AdminHandler : public HttpHandler {
 public:
  explicit AdminHandler(const ReadinessChecker* readiness) : readiness_(readiness) {}
  void Handle(const HttpRequest& request, const std::string& request_id,
              const std::string& client_ip, HttpResponder respond) override;

 private:
  const ReadinessChecker* readiness_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_READINESS_H_
