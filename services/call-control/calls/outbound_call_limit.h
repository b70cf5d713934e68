#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALLS_OUTBOUND_CALL_LIMIT_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALLS_OUTBOUND_CALL_LIMIT_H_

// What outbound calls the suite lets anyone place, across every call-control replica: outbound
// calls cost money, so a runaway page or a stolen token must not be able to dial without bound or
// anywhere in the world.
//
//  - destinations: only numbers starting with one of LIVECALL_ALLOWED_DIAL_PREFIXES;
//  - a global cap on concurrent outbound calls (LIVECALL_MAX_ACTIVE_CALLS);
//  - a per-agent quota of concurrent outbound calls (LIVECALL_MAX_CALLS_PER_AGENT).
//
//   livecall:{calls:outbound-active}          ZSET  a call sid (or "pending:<id>" while it is
//                                                  being dialled) scored by when its slot lapses
//                                                  (unix ms)
//   livecall:{calls:outbound-active}:<agent>  ZSET  the same for one agent's calls (its Twilio
//                                                  identity), TTL the slot lifetime
// (One hash tag, so the script that counts both runs on one Redis Cluster node.)
//
// A slot is taken atomically (one Lua script: drop lapsed slots, count both sets, add to both)
// before dialling, as "pending:<id>", which the sweep below never frees: it lapses by its own
// score (kPendingLapse) if the replica dies while dialling. Once the provider has named the call,
// the slot becomes the call's sid right after the call record is written
// (OutboundSlot::CommitWrites, run by CallStore::Create after the record; or OutboundSlot::Commit,
// where the provider writes the record itself); a slot never committed is given back by its
// OutboundSlot, or lapses if the replica dies first: so a slot named by a sid always has its call
// record, and a missing record means the call is gone. A call gives its slot back when it ends;
// rather than hooking every path that ends a call (status callbacks, the sandbox, hangup), a full
// set is swept lazily: slots of calls that have ended or are gone are removed and the count taken
// again. A slot also lapses after `slot_lifetime`, so a crash never keeps one forever.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"
#include "services/call-control/calls/call_store.h"

namespace livecall::call_control {

inline constexpr char kOutboundActiveKey[] = "livecall:{calls:outbound-active}";
// How long a slot being dialled is kept before it lapses by itself.
inline constexpr absl::Duration kPendingLapse = absl::Minutes(2);

struct OutboundCallPolicy {
  // Concurrent outbound calls of the whole suite; 0: no cap.
  int max_active = 0;
  // Concurrent outbound calls one agent places (PlaceCall as an agent, browser calls); 0: none.
  int max_per_agent = 0;
  // E.164 prefixes a destination must start with ("+998"); "+" allows every number.
  std::vector<std::string> allowed_prefixes = {"+"};
  absl::Duration slot_lifetime = absl::Hours(4);
};

class OutboundCallLimit;

// A slot of the global cap (and of an agent's quota) taken for a call being dialled. It is given
// back when the object goes away unless it has become the call's (Commit, or CommitWrites handed
// to the call record's transaction), so a dial that fails or returns early needs no cleanup of its
// own. A default-constructed slot counts nothing (no limit is configured, or none applies).
class OutboundSlot {
 public:
  OutboundSlot() = default;
  OutboundSlot(OutboundSlot&& other) noexcept;
  OutboundSlot& operator=(OutboundSlot&& other) noexcept;
  OutboundSlot(const OutboundSlot&) = delete;
  OutboundSlot& operator=(const OutboundSlot&) = delete;
  ~OutboundSlot();

  // The writes that make the slot the call `call_sid`'s, to run in the transaction that writes
  // the call record (CallStore::Create). From then on the slot is the transaction's: whether a
  // failed transaction ran is unknown, so the pending slot then lapses by itself (kPendingLapse)
  // rather than being given back here.
  RedisCommands CommitWrites(const std::string& call_sid, absl::Time now);
  // CommitWrites run on their own, for a call whose record the provider has written already.
  absl::Status Commit(const std::string& call_sid, absl::Time now);
  // Gives the slot back now: the call was not placed. The destructor does the same.
  absl::Status Release();

  // Whose quota the slot counts against; empty: nobody's.
  const std::string& agent_identity() const { return agent_identity_; }
  // True while the slot counts and is neither the call's nor given back.
  bool held() const { return limit_ != nullptr; }

 private:
  friend class OutboundCallLimit;
  OutboundSlot(OutboundCallLimit& limit, std::string member, std::string agent_identity)
      : limit_(&limit), member_(std::move(member)), agent_identity_(std::move(agent_identity)) {}

  OutboundCallLimit* limit_ = nullptr;  // Null once committed or released.
  std::string member_;                  // "pending:<id>"
  std::string agent_identity_;
};

// Why a call was refused, for what the agent hears (OutboundRefusalLine).
enum class OutboundRefusal { kNone, kDestination, kAgentQuota, kAllLinesBusy };
OutboundRefusal RefusalOf(const absl::Status& status);
// What an agent hears in `language` (uz, ru, en) when its browser call is refused.
std::string OutboundRefusalLine(OutboundRefusal refusal, const std::string& language);

class OutboundCallLimit {
 public:
  OutboundCallLimit(RedisPool& redis, CallStore& calls, OutboundCallPolicy policy)
      : redis_(redis), calls_(calls), policy_(std::move(policy)) {}

  // OK when `e164` may be dialled; PERMISSION_DENIED (403) when it is outside the allowed
  // prefixes.
  absl::Status CheckDestination(const std::string& e164) const;

  // CheckDestination, then a slot for a call about to be dialled for `agent_identity` (empty: not
  // an agent's call, only the global cap applies). RESOURCE_EXHAUSTED (429 with Retry-After) when
  // `max_active` calls are up or the agent has `max_per_agent` calls up.
  // The slot is given back unless it is committed (OutboundSlot).
  absl::StatusOr<OutboundSlot> Admit(const std::string& e164, const std::string& agent_identity,
                                     absl::Time now);

  const OutboundCallPolicy& policy() const { return policy_; }

 private:
  friend class OutboundSlot;

  // The writes that make the slot `member` (of `agent_identity`) the call's.
  RedisCommands CommitWrites(const std::string& member, const std::string& agent_identity,
                             const std::string& call_sid, absl::Time now) const;
  // Removes the slot `member` from the sets that count it: the call was not placed after all.
  absl::Status Cancel(const std::string& member, const std::string& agent_identity);
  // Removes the slots of `key` whose calls have ended or are gone; how many it removed.
  absl::StatusOr<int> SweepEnded(const std::string& key);
  // Adds `member` to the global set and `agent_identity`'s (empty: none): 1 when added, 0 when the
  // global cap is reached, -1 when the agent's quota is.
  absl::StatusOr<int> TryAdd(const std::string& member, const std::string& agent_identity,
                             absl::Time now);
  bool CountsGlobally() const { return policy_.max_active > 0; }
  bool CountsFor(const std::string& agent_identity) const {
    return policy_.max_per_agent > 0 && !agent_identity.empty();
  }

  RedisPool& redis_;
  CallStore& calls_;
  const OutboundCallPolicy policy_;
};

// The set of one agent's outbound slots.
std::string AgentOutboundKey(const std::string& agent_identity);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALLS_OUTBOUND_CALL_LIMIT_H_
