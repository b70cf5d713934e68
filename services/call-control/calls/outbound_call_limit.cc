#include "services/call-control/calls/outbound_call_limit.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/redis_script.h"
#include "services/call-control/calls/call_state_machine.h"

namespace livecall::call_control {
namespace {

// KEYS: the global set, the agent's set. ARGV: now (ms), lapse (ms), max global (0: not counted),
// member, max for the agent (0: not counted), the agent set's TTL (ms).
// 1 when added, 0 when the global cap is reached, -1 when the agent's quota is.
constexpr char kTryAddScript[] = R"lua(
local max_global, max_agent = tonumber(ARGV[3]), tonumber(ARGV[5])
if max_global > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  if redis.call('ZCARD', KEYS[1]) >= max_global then return 0 end
end
if max_agent > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  if redis.call('ZCARD', KEYS[2]) >= max_agent then return -1 end
end
if max_global > 0 then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4]) end
if max_agent > 0 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return 1
)lua";

// Which limit refused a call, carried on the status for what the agent hears.
constexpr char kRefusalPayload[] = "type.livecall/call-control.OutboundRefusal";

absl::Status Refused(absl::Status status, absl::string_view refusal) {
  status.SetPayload(kRefusalPayload, absl::Cord(refusal));
  return status;
}

}  // namespace

std::string AgentOutboundKey(const std::string& agent_identity) {
  return absl::StrCat(kOutboundActiveKey, ":", agent_identity);
}

OutboundRefusal RefusalOf(const absl::Status& status) {
  absl::optional<absl::Cord> refusal = status.GetPayload(kRefusalPayload);
  if (!refusal.has_value()) return OutboundRefusal::kNone;
  if (*refusal == "destination") return OutboundRefusal::kDestination;
  if (*refusal == "agent-quota") return OutboundRefusal::kAgentQuota;
  return OutboundRefusal::kAllLinesBusy;
}

std::string OutboundRefusalLine(OutboundRefusal refusal, const std::string& language) {
  switch (refusal) {
    case OutboundRefusal::kDestination:
      if (language == "uz") return "Bu raqamga qo'ng'iroq qilishga ruxsat yo'q.";
      if (language == "ru") return "Звонки на этот номер не разрешены.";
      return "Calls to this number are not allowed.";
    case OutboundRefusal::kAgentQuota:
      if (language == "uz") {
        return "Sizda allaqachon juda ko'p faol qo'ng'iroq bor. Iltimos, avval bittasini "
               "tugating.";
      }
      if (language == "ru") {
        return "У вас уже слишком много активных звонков. Пожалуйста, сначала завершите один из "
               "них.";
      }
      return "You already have too many calls in progress. Please end one before placing another.";
    case OutboundRefusal::kNone:
    case OutboundRefusal::kAllLinesBusy:
      break;
  }
  if (language == "uz") {
    return "Hozir barcha chiquvchi liniyalar band. Iltimos, birozdan keyin qayta qo'ng'iroq "
           "qiling.";
  }
  if (language == "ru") {
    return "Сейчас все исходящие линии заняты. Пожалуйста, позвоните чуть позже.";
  }
  return "All outgoing lines are busy right now. Please try your call again in a moment.";
}

absl::Status OutboundCallLimit::CheckDestination(const std::string& e164) const {
  for (const std::string& prefix : policy_.allowed_prefixes) {
    if (absl::StartsWith(e164, prefix)) return absl::OkStatus();
  }
  return Refused(absl::PermissionDeniedError(absl::StrCat(
                     "calls to ", e164, " are not allowed: only numbers starting with ",
                     absl::StrJoin(policy_.allowed_prefixes, ", "),
                     " may be dialled (LIVECALL_ALLOWED_DIAL_PREFIXES)")),
                 "destination");
}

OutboundSlot::OutboundSlot(OutboundSlot&& other) noexcept
    : limit_(std::exchange(other.limit_, nullptr)),
      member_(std::move(other.member_)),
      agent_identity_(std::move(other.agent_identity_)) {}

OutboundSlot& OutboundSlot::operator=(OutboundSlot&& other) noexcept {
  if (this != &other) {
    (void)Release();  // Logged there.
    limit_ = std::exchange(other.limit_, nullptr);
    member_ = std::move(other.member_);
    agent_identity_ = std::move(other.agent_identity_);
  }
  return *this;
}

OutboundSlot::~OutboundSlot() { (void)Release(); }

RedisCommands OutboundSlot::CommitWrites(const std::string& call_sid, absl::Time now) {
  if (limit_ == nullptr) return {};
  OutboundCallLimit* limit = std::exchange(limit_, nullptr);
  return limit->CommitWrites(member_, agent_identity_, call_sid, now);
}

absl::Status OutboundSlot::Commit(const std::string& call_sid, absl::Time now) {
  if (limit_ == nullptr) return absl::OkStatus();
  RedisPool& redis = limit_->redis_;
  RedisCommands writes = CommitWrites(call_sid, now);
  if (writes.empty()) return absl::OkStatus();
  return RunTransaction(redis, std::move(writes));
}

absl::Status OutboundSlot::Release() {
  if (limit_ == nullptr) return absl::OkStatus();
  OutboundCallLimit* limit = std::exchange(limit_, nullptr);
  absl::Status released = limit->Cancel(member_, agent_identity_);
  if (!released.ok()) {
    // Not fatal: the pending slot lapses by itself (kPendingLapse).
    LogWarning("cannot give back an outbound slot; it lapses by itself",
               {{"slot", member_}, {"error", released.ToString()}});
  }
  return released;
}

absl::StatusOr<int> OutboundCallLimit::TryAdd(const std::string& member,
                                              const std::string& agent_identity, absl::Time now) {
  const bool counts_agent = CountsFor(agent_identity);
  static const RedisScript& script = *new RedisScript(kTryAddScript);
  absl::StatusOr<RedisReply> reply = script.Run(
      redis_, {kOutboundActiveKey, AgentOutboundKey(agent_identity)},
      {absl::StrCat(absl::ToUnixMillis(now)), absl::StrCat(absl::ToUnixMillis(now + kPendingLapse)),
       absl::StrCat(CountsGlobally() ? policy_.max_active : 0), member,
       absl::StrCat(counts_agent ? policy_.max_per_agent : 0),
       absl::StrCat(absl::ToInt64Milliseconds(policy_.slot_lifetime))});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
  }
  return static_cast<int>((*reply)->integer);
}

absl::StatusOr<OutboundSlot> OutboundCallLimit::Admit(const std::string& e164,
                                                      const std::string& agent_identity,
                                                      absl::Time now) {
  if (absl::Status allowed = CheckDestination(e164); !allowed.ok()) return allowed;
  if (!CountsGlobally() && !CountsFor(agent_identity)) return OutboundSlot();
  const std::string member = absl::StrCat("pending:", NewId("", 16));
  const std::string counted_for = CountsFor(agent_identity) ? agent_identity : "";
  // A full set is swept once (the global one, or the agent's) and the slot asked for again.
  bool swept_global = false;
  bool swept_agent = false;
  while (true) {
    absl::StatusOr<int> added = TryAdd(member, counted_for, now);
    if (!added.ok()) return added.status();
    if (*added == 1) return OutboundSlot(*this, member, counted_for);
    const bool global_full = *added == 0;
    bool& swept = global_full ? swept_global : swept_agent;
    if (!swept) {
      swept = true;
      absl::StatusOr<int> freed = SweepEnded(global_full ? std::string(kOutboundActiveKey)
                                                         : AgentOutboundKey(agent_identity));
      if (!freed.ok()) return freed.status();
      if (*freed > 0) continue;
    }
    if (global_full) {
      return Refused(absl::ResourceExhaustedError(absl::StrCat(
                         "the limit of ", policy_.max_active,
                         " concurrent outbound calls is reached (LIVECALL_MAX_ACTIVE_CALLS); try "
                         "again when a call ends")),
                     "busy");
    }
    return Refused(
        absl::ResourceExhaustedError(absl::StrCat(
            "agent ", agent_identity, " already has ", policy_.max_per_agent,
            " outbound calls in progress (LIVECALL_MAX_CALLS_PER_AGENT); end one first")),
        "agent-quota");
  }
}

RedisCommands OutboundCallLimit::CommitWrites(const std::string& member,
                                              const std::string& agent_identity,
                                              const std::string& call_sid, absl::Time now) const {
  RedisCommands writes;
  const std::string lapse = absl::StrCat(absl::ToUnixMillis(now + policy_.slot_lifetime));
  if (CountsGlobally()) {
    writes.push_back({"ZREM", kOutboundActiveKey, member});
    writes.push_back({"ZADD", kOutboundActiveKey, lapse, call_sid});
  }
  if (CountsFor(agent_identity)) {
    const std::string key = AgentOutboundKey(agent_identity);
    writes.push_back({"ZREM", key, member});
    writes.push_back({"ZADD", key, lapse, call_sid});
    writes.push_back(
        {"PEXPIRE", key, absl::StrCat(absl::ToInt64Milliseconds(policy_.slot_lifetime))});
  }
  return writes;
}

absl::Status OutboundCallLimit::Cancel(const std::string& member,
                                       const std::string& agent_identity) {
  RedisCommands removals;
  if (CountsGlobally()) removals.push_back({"ZREM", kOutboundActiveKey, member});
  if (CountsFor(agent_identity)) {
    removals.push_back({"ZREM", AgentOutboundKey(agent_identity), member});
  }
  return redis_.Pipeline(removals).status();
}

absl::StatusOr<int> OutboundCallLimit::SweepEnded(const std::string& key) {
  absl::StatusOr<RedisReply> members = redis_.Command({"ZRANGE", key, "0", "-1"});
  if (!members.ok()) return members.status();
  int removed = 0;
  if ((*members)->type != REDIS_REPLY_ARRAY) return removed;
  for (size_t i = 0; i < (*members)->elements; ++i) {
    const std::string member = ReplyString(*(*members)->element[i]);
    if (absl::StartsWith(member, "pending:")) continue;  // Being dialled; lapses by its score.
    // A sid's slot is written with its call record (or after it), so a missing record is a call
    // that is gone, not one still being placed.
    absl::StatusOr<livecall::v1::Call> call = calls_.Get(member);
    const bool ended =
        absl::IsNotFound(call.status()) || (call.ok() && IsTerminalCallStatus(call->status()));
    if (!call.ok() && !absl::IsNotFound(call.status())) return call.status();
    if (!ended) continue;
    absl::StatusOr<RedisReply> gone = redis_.Command({"ZREM", key, member});
    if (!gone.ok()) return gone.status();
    if ((*gone)->type == REDIS_REPLY_INTEGER && (*gone)->integer > 0) ++removed;
  }
  return removed;
}

}  // namespace livecall::call_control
