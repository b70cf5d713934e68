#include "services/call-control/outbound_call_limit.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "services/call-control/call_state_machine.h"

namespace livecall::call_control {
namespace {

// KEYS[1] the set; ARGV: now (ms), lapse (ms), max, member. 1 when added, 0 when full.
constexpr char kTryAddScript[] = R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
return 1
)lua";

// KEYS[1] the set; ARGV: reservation, call sid, lapse (ms).
constexpr char kCommitScript[] = R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
return 1
)lua";

}  // namespace

absl::StatusOr<bool> OutboundCallLimit::TryAdd(const std::string& member, absl::Time now) {
  // A reservation lapses soon: dialling takes seconds, and a replica that dies meanwhile must not
  // keep the slot for a call's whole lifetime.
  absl::StatusOr<RedisReply> reply = redis_.Command(
      {"EVAL", kTryAddScript, "1", kOutboundActiveKey, absl::StrCat(absl::ToUnixMillis(now)),
       absl::StrCat(absl::ToUnixMillis(now + absl::Minutes(2))), absl::StrCat(max_active_),
       member});
  if (!reply.ok()) return reply.status();
  return (*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer == 1;
}

absl::StatusOr<std::string> OutboundCallLimit::Reserve(absl::Time now) {
  const std::string reservation = absl::StrCat("pending:", NewId("", 16));
  if (max_active_ <= 0) return reservation;
  absl::StatusOr<bool> added = TryAdd(reservation, now);
  if (!added.ok()) return added.status();
  if (*added) return reservation;
  absl::StatusOr<int> swept = SweepEnded();
  if (!swept.ok()) return swept.status();
  if (*swept > 0) {
    added = TryAdd(reservation, now);
    if (!added.ok()) return added.status();
    if (*added) return reservation;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("the limit of ", max_active_,
                   " concurrent outbound calls is reached (LIVECALL_MAX_ACTIVE_CALLS); try again "
                   "when a call ends"));
}

absl::Status OutboundCallLimit::Commit(const std::string& reservation, const std::string& call_sid,
                                       absl::Time now) {
  if (max_active_ <= 0) return absl::OkStatus();
  return redis_
      .Command({"EVAL", kCommitScript, "1", kOutboundActiveKey, reservation, call_sid,
                absl::StrCat(absl::ToUnixMillis(now + slot_lifetime_))})
      .status();
}

absl::Status OutboundCallLimit::Cancel(const std::string& reservation) {
  if (max_active_ <= 0) return absl::OkStatus();
  return redis_.Command({"ZREM", kOutboundActiveKey, reservation}).status();
}

absl::StatusOr<int> OutboundCallLimit::SweepEnded() {
  absl::StatusOr<RedisReply> members = redis_.Command({"ZRANGE", kOutboundActiveKey, "0", "-1"});
  if (!members.ok()) return members.status();
  int removed = 0;
  if ((*members)->type != REDIS_REPLY_ARRAY) return removed;
  for (size_t i = 0; i < (*members)->elements; ++i) {
    const std::string member = ReplyString(*(*members)->element[i]);
    if (absl::StartsWith(member, "pending:")) continue;  // Being dialled; lapses by its score.
    absl::StatusOr<livecall::v1::Call> call = calls_.Get(member);
    const bool ended =
        absl::IsNotFound(call.status()) || (call.ok() && IsTerminalCallStatus(call->status()));
    if (!call.ok() && !absl::IsNotFound(call.status())) return call.status();
    if (!ended) continue;
    absl::StatusOr<RedisReply> gone = redis_.Command({"ZREM", kOutboundActiveKey, member});
    if (!gone.ok()) return gone.status();
    if ((*gone)->type == REDIS_REPLY_INTEGER && (*gone)->integer > 0) ++removed;
  }
  return removed;
}

}  // namespace livecall::call_control
