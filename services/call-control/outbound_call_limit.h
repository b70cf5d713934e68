#ifndef LIVECALL_SERVICES_CALL_CONTROL_OUTBOUND_CALL_LIMIT_H_
#define LIVECALL_SERVICES_CALL_CONTROL_OUTBOUND_CALL_LIMIT_H_

// A global cap on concurrent outbound calls, across every call-control replica: outbound calls
// cost money, so a runaway page or a stolen token must not be able to dial without bound.
//
//   livecall:calls:outbound-active  ZSET  a call sid (or "pending:<id>" while it is being
//                                         dialled) scored by when its slot lapses (unix ms)
//
// A slot is taken atomically (one Lua script: drop lapsed slots, count, add) before dialling and
// handed to the call's sid once the provider answers it. A call gives its slot back when it ends;
// rather than hooking every path that ends a call (status callbacks, the sandbox, hangup), a full
// set is swept lazily: slots of calls that have ended or are gone are removed and the count taken
// again. A slot also lapses after `slot_lifetime`, so a crash never keeps one forever.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"
#include "services/call-control/call_store.h"

namespace livecall::call_control {

inline constexpr char kOutboundActiveKey[] = "livecall:calls:outbound-active";

class OutboundCallLimit {
 public:
  // max_active 0: no cap.
  OutboundCallLimit(RedisPool& redis, CallStore& calls, int max_active,
                    absl::Duration slot_lifetime = absl::Hours(4))
      : redis_(redis), calls_(calls), max_active_(max_active), slot_lifetime_(slot_lifetime) {}

  // A slot for a call about to be dialled: its reservation id, to Commit or Cancel.
  // RESOURCE_EXHAUSTED when `max_active` calls are up (the gateway answers 429 with Retry-After).
  absl::StatusOr<std::string> Reserve(absl::Time now);
  // The reservation becomes the call's slot.
  absl::Status Commit(const std::string& reservation, const std::string& call_sid, absl::Time now);
  // The call was not placed after all.
  absl::Status Cancel(const std::string& reservation);

  int max_active() const { return max_active_; }

 private:
  // Removes the slots of calls that have ended or are gone; how many it removed.
  absl::StatusOr<int> SweepEnded();
  absl::StatusOr<bool> TryAdd(const std::string& member, absl::Time now);

  RedisPool& redis_;
  CallStore& calls_;
  const int max_active_;
  const absl::Duration slot_lifetime_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_OUTBOUND_CALL_LIMIT_H_
