#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_STORE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_STORE_H_

// Calls in Redis. Key layout:
//   livecall:call:{call_sid}     STRING  serialized livecall.v1.Call, TTL (LIVECALL_CALL_TTL_S)
//   livecall:sandbox:due         ZSET    call sids scored by when the sandbox's next step is due
//                                        (unix ms); no TTL: a member leaves when its call ends.
// A call and its next due step (or its removal from the due set) are written in one MULTI/EXEC
// block. A replica claims a due step by pushing its score a lease into the future, so a replica
// that dies mid-step leaves the step to be retried when the lease runs out, never lost.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"
#include "livecall/v1/call_control.pb.h"

namespace livecall::call_control {

std::string CallKey(const std::string& call_sid);
inline constexpr char kSandboxDueKey[] = "livecall:sandbox:due";

class CallStore {
 public:
  CallStore(RedisPool& redis, absl::Duration ttl) : redis_(redis), ttl_(ttl) {}

  // Writes the call and schedules the sandbox's next step at `next_step_at`, or unschedules it.
  absl::Status Put(const livecall::v1::Call& call, std::optional<absl::Time> next_step_at);

  // NOT_FOUND when there is no such call.
  absl::StatusOr<livecall::v1::Call> Get(const std::string& call_sid);

  // Sids whose sandbox step is due at or before `now`, at most `limit`.
  absl::StatusOr<std::vector<std::string>> DueSteps(absl::Time now, int limit);

  // Takes `call_sid` off the sandbox's schedule.
  absl::Status Unschedule(const std::string& call_sid);

  // Claims a due step for `lease`: true when this caller got it (its score was still due), so
  // exactly one replica takes each step.
  absl::StatusOr<bool> ClaimStep(const std::string& call_sid, absl::Time now, absl::Duration lease);

 private:
  RedisPool& redis_;
  const absl::Duration ttl_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_STORE_H_
