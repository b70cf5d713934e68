#include "services/context/outbox.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/redis_script.h"
#include "common/status.h"
#include "services/context/session_store.h"

namespace livecall::context {
namespace {

// Lua prologue: return 0 unless the pending entry ARGV[3] of the stream KEYS[1] is held by the
// consumer ARGV[2] of the group ARGV[1] (another replica claimed it, or it is gone).
#define LIVECALL_UNLESS_MINE_RETURN_0_LUA                                           \
  "local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)\n" \
  "if #pending == 0 or pending[1][2] ~= ARGV[2] then return 0 end\n"

// KEYS: the outbox. ARGV: group, consumer, entry id, idle ms. 1 when set, 0 when not ours.
constexpr char kSetIdleIfMineScript[] = LIVECALL_UNLESS_MINE_RETURN_0_LUA R"lua(
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3],
                             'IDLE', ARGV[4], 'JUSTID')
  return #claimed)lua";

// KEYS: the outbox, the dead letters, the attempts hash. ARGV: group, consumer, entry id,
// session id, idempotency key, record, http status, error, attempts. 1 when moved, 0 when not ours.
constexpr char kDeadLetterScript[] = LIVECALL_UNLESS_MINE_RETURN_0_LUA R"lua(
  redis.call('XADD', KEYS[2], '*', 'session_id', ARGV[4], 'idempotency_key', ARGV[5],
             'record', ARGV[6], 'status', ARGV[7], 'error', ARGV[8], 'outbox_id', ARGV[3],
             'attempts', ARGV[9])
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('XDEL', KEYS[1], ARGV[3])
  redis.call('HDEL', KEYS[3], ARGV[3])
  return 1)lua";

// KEYS: the dead letters, the outbox. ARGV: how many at most. Moves the oldest letters back as new
// outbox entries; returns how many it moved.
constexpr char kReplayScript[] = R"lua(
  local letters = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])
  for _, letter in ipairs(letters) do
    local fields = letter[2]
    local kept = {}
    for i = 1, #fields, 2 do
      local name = fields[i]
      if name == 'session_id' or name == 'idempotency_key' or name == 'record' then
        kept[#kept + 1] = name
        kept[#kept + 1] = fields[i + 1]
      end
    end
    kept[#kept + 1] = 'replayed'
    kept[#kept + 1] = '1'
    redis.call('XADD', KEYS[2], '*', unpack(kept))
    redis.call('XDEL', KEYS[1], letter[1])
  end
  return #letters)lua";

constexpr int kReplayBatch = 100;
// How much of a refusing CRM's answer is kept with the dead letter and logged.
constexpr size_t kKeptErrorBytes = 300;

prometheus::Gauge& OutboxBacklogGauge() {
  static auto& gauge = SingleGauge("livecall_outbox_backlog",
                                   "Finished conversations not yet delivered to the CRM.");
  return gauge;
}

prometheus::Gauge& OldestAgeGauge() {
  static auto& gauge = prometheus::BuildGauge()
                           .Name("livecall_outbox_oldest_age_seconds")
                           .Help(
                               "Age of the oldest finished conversation not yet delivered to "
                               "the CRM (0 when none waits).")
                           .Register(MetricsRegistry())
                           .Add({});
  return gauge;
}

prometheus::Gauge& DeadLettersGauge() {
  static auto& gauge = prometheus::BuildGauge()
                           .Name("livecall_outbox_dead_letters")
                           .Help("Conversations the CRM refused for good, waiting for a replay.")
                           .Register(MetricsRegistry())
                           .Add({});
  return gauge;
}

void CountDeadLettered(int http_status) {
  static auto& counter = prometheus::BuildCounter()
                             .Name("livecall_outbox_dead_lettered_total")
                             .Help(
                                 "Conversations moved to the dead-letter stream because the CRM "
                                 "refused them for good (4xx other than 408/429).")
                             .Register(MetricsRegistry());
  counter.Add({{"status", absl::StrCat(http_status)}}).Increment();
}

// The unix ms of a stream id "<ms>-<seq>".
int64_t StreamIdMillis(absl::string_view id) {
  int64_t ms = 0;
  (void)absl::SimpleAtoi(id.substr(0, id.find('-')), &ms);
  return ms;
}

}  // namespace

absl::Duration ReclaimIdle(absl::Duration webhook_timeout) {
  return std::max(2 * webhook_timeout, webhook_timeout + absl::Seconds(1));
}

bool IsPermanentRefusal(int http_status) {
  return http_status >= 400 && http_status < 500 && http_status != 408 && http_status != 429;
}

absl::StatusOr<OutboxStats> ReadOutboxStats(RedisPool& redis) {
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis.Pipeline({{"TIME"},
                      {"XRANGE", kOutboxKey, "-", "+", "COUNT", "1"},
                      {"XLEN", kOutboxKey},
                      {"XLEN", kOutboxDeadLettersKey}});
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::InternalError(absl::StrCat("redis: ", ReplyString(*reply)));
    }
  }
  const redisReply& time = *(*replies)[0];
  const redisReply& oldest = *(*replies)[1];
  OutboxStats stats;
  stats.backlog = (*replies)[2]->integer;
  stats.dead_letters = (*replies)[3]->integer;
  if (time.type == REDIS_REPLY_ARRAY && time.elements == 2 && oldest.type == REDIS_REPLY_ARRAY &&
      oldest.elements > 0) {
    int64_t seconds = 0;
    int64_t micros = 0;
    (void)absl::SimpleAtoi(ReplyString(*time.element[0]), &seconds);
    (void)absl::SimpleAtoi(ReplyString(*time.element[1]), &micros);
    const int64_t now_ms = seconds * 1000 + micros / 1000;
    const int64_t enqueued_ms = StreamIdMillis(ReplyString(*oldest.element[0]->element[0]));
    stats.oldest_age = absl::Milliseconds(std::max<int64_t>(0, now_ms - enqueued_ms));
  }
  return stats;
}

void SampleOutboxGauges(RedisPool& redis) {
  absl::StatusOr<OutboxStats> stats = ReadOutboxStats(redis);
  if (!stats.ok()) return;
  OutboxBacklogGauge().Set(static_cast<double>(stats->backlog));
  OldestAgeGauge().Set(absl::ToDoubleSeconds(stats->oldest_age));
  DeadLettersGauge().Set(static_cast<double>(stats->dead_letters));
}

absl::StatusOr<int64_t> ReplayDeadLetters(RedisPool& redis) {
  int64_t replayed = 0;
  for (;;) {
    static const RedisScript& script = *new RedisScript(kReplayScript);
    absl::StatusOr<RedisReply> moved =
        script.Run(redis, {kOutboxDeadLettersKey, kOutboxKey}, {absl::StrCat(kReplayBatch)});
    if (!moved.ok()) return moved.status();
    if ((*moved)->integer == 0) break;
    replayed += (*moved)->integer;
  }
  LogInfo("dead letters replayed into the crm outbox", {{"count", absl::StrCat(replayed)}});
  return replayed;
}

OutboxDeliverer::~OutboxDeliverer() { Stop(); }

absl::Status OutboxDeliverer::EnsureGroup() {
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"XGROUP", "CREATE", kOutboxKey, kOutboxGroup, "0", "MKSTREAM"});
  if (!reply.ok() && reply.status().message().find("BUSYGROUP") == absl::string_view::npos) {
    return reply.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OutboxDeliverer::Entry>> OutboxDeliverer::ParseEntries(
    const redisReply& entries) {
  std::vector<Entry> parsed;
  for (size_t i = 0; i < entries.elements; ++i) {
    const redisReply& entry = *entries.element[i];
    // [id, [field, value, ...]]; a nil field list is an entry deleted while pending.
    if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2) continue;
    Entry e;
    e.id = ReplyString(*entry.element[0]);
    const redisReply& fields = *entry.element[1];
    for (size_t f = 0; f + 1 < fields.elements; f += 2) {
      const std::string name = ReplyString(*fields.element[f]);
      if (name == "session_id") e.session_id = ReplyString(*fields.element[f + 1]);
      if (name == "idempotency_key") e.idempotency_key = ReplyString(*fields.element[f + 1]);
      if (name == "record") e.record = ReplyString(*fields.element[f + 1]);
      if (name == "replayed") e.replayed = ReplyString(*fields.element[f + 1]) == "1";
    }
    parsed.push_back(std::move(e));
  }
  return parsed;
}

absl::StatusOr<bool> OutboxDeliverer::SetIdleIfMine(const std::string& id, absl::Duration idle) {
  static const RedisScript& script = *new RedisScript(kSetIdleIfMineScript);
  absl::StatusOr<RedisReply> set = script.Run(
      redis_, {kOutboxKey},
      {kOutboxGroup, options_.consumer, id, absl::StrCat(absl::ToInt64Milliseconds(idle))});
  if (!set.ok()) return set.status();
  return (*set)->integer == 1;
}

absl::Status OutboxDeliverer::ClaimableAfter(const std::string& id, absl::Duration delay) {
  // XAUTOCLAIM takes entries idle for reclaim_idle_: this much idle already leaves `delay`.
  const absl::Duration idle = std::max(absl::ZeroDuration(), reclaim_idle_ - delay);
  return SetIdleIfMine(id, idle).status();
}

absl::Status OutboxDeliverer::DeadLetter(const Entry& entry, int attempt_number,
                                         const HttpResponse& response) {
  const std::string error = response.body.substr(0, kKeptErrorBytes);
  static const RedisScript& script = *new RedisScript(kDeadLetterScript);
  absl::StatusOr<RedisReply> moved = script.Run(
      redis_, {kOutboxKey, kOutboxDeadLettersKey, kOutboxAttemptsKey},
      {kOutboxGroup, options_.consumer, entry.id, entry.session_id, entry.idempotency_key,
       entry.record, absl::StrCat(response.status), error, absl::StrCat(attempt_number)});
  if (!moved.ok()) return moved.status();
  if ((*moved)->integer != 1) return absl::OkStatus();  // Another replica has it now.
  CountDeadLettered(static_cast<int>(response.status));
  LogError("crm refused a conversation for good; moved to the dead letters",
           {{"entry", entry.id},
            {"session_id", entry.session_id},
            {"key", entry.idempotency_key},
            {"status", absl::StrCat(response.status)},
            // The CRM's answer may quote the record (the customer's data): it stays with the
            // dead letter in Redis, out of the log.
            {"replay", "livecall-context --replay-dead-letters"}});
  return absl::OkStatus();
}

absl::StatusOr<bool> OutboxDeliverer::Attempt(const Entry& entry, int attempt_number,
                                              absl::Time now) {
  // Renew the claim first: for the next reclaim_idle_, longer than this POST may take, no other
  // replica takes the entry, however long the batch before it took.
  absl::StatusOr<bool> mine = SetIdleIfMine(entry.id, absl::ZeroDuration());
  if (!mine.ok()) return mine.status();
  if (!*mine) return false;
  if (!entry.replayed) {
    // An entry whose session's end did not name it belongs to an end that failed: drop it.
    absl::StatusOr<bool> confirmed = ConfirmOutboxEntry(redis_, entry.session_id, entry.id);
    if (!confirmed.ok()) return confirmed.status();
    if (!*confirmed) {
      LogInfo("outbox entry of an end that did not happen dropped unsent",
              {{"entry", entry.id}, {"session_id", entry.session_id}});
      LIVECALL_RETURN_IF_ERROR(Remove(entry.id));
      return false;
    }
  }
  HttpRequest request;
  request.method = "POST";
  request.url = options_.webhook_url;
  request.body = entry.record;
  request.timeout = options_.timeout;
  request.headers = {{"Content-Type", "application/json"},
                     {"Idempotency-Key", entry.idempotency_key},
                     {"X-Livecall-Delivery-Attempt", absl::StrCat(attempt_number)}};
  if (!options_.api_key.empty()) {
    request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  absl::StatusOr<HttpResponse> response = http_.Send(request);
  if (response.ok() && response->status >= 200 && response->status < 300) {
    LIVECALL_RETURN_IF_ERROR(Remove(entry.id));
    LogInfo("conversation delivered to the crm", {{"entry", entry.id},
                                                  {"key", entry.idempotency_key},
                                                  {"attempt", absl::StrCat(attempt_number)}});
    return true;
  }
  if (response.ok() && IsPermanentRefusal(static_cast<int>(response->status))) {
    LIVECALL_RETURN_IF_ERROR(DeadLetter(entry, attempt_number, *response));
    return false;
  }
  // Exponential backoff: initial, 2x, 4x, ... capped.
  const double factor = std::pow(2.0, std::min(attempt_number - 1, 30));
  const absl::Duration backoff = std::min(options_.initial_backoff * factor, options_.max_backoff);
  absl::StatusOr<RedisReply> noted =
      redis_.Command({"HSET", kOutboxAttemptsKey, entry.id,
                      absl::StrCat(attempt_number, ":", absl::ToUnixMillis(now + backoff))});
  if (!noted.ok()) return noted.status();
  LIVECALL_RETURN_IF_ERROR(ClaimableAfter(entry.id, backoff));
  LogWarning("crm webhook failed; will retry",
             {{"entry", entry.id},
              {"attempt", absl::StrCat(attempt_number)},
              {"retry_in_ms", absl::StrCat(absl::ToInt64Milliseconds(backoff))},
              {"error", response.ok() ? absl::StrCat("HTTP ", response->status)
                                      : response.status().ToString()}});
  return false;
}

absl::Status OutboxDeliverer::Remove(const std::string& id) {
  return RunTransaction(redis_, {{"XACK", kOutboxKey, kOutboxGroup, id},
                                 {"XDEL", kOutboxKey, id},
                                 {"HDEL", kOutboxAttemptsKey, id}});
}

absl::StatusOr<int> OutboxDeliverer::RunOnce(absl::Time now) {
  int delivered = 0;
  // New entries for this consumer.
  absl::StatusOr<RedisReply> fresh =
      redis_.Command({"XREADGROUP", "GROUP", kOutboxGroup, options_.consumer, "COUNT",
                      absl::StrCat(options_.batch), "STREAMS", kOutboxKey, ">"});
  if (!fresh.ok()) {
    // The stream or group went away (a Redis restored without them): make them again.
    if (fresh.status().message().find("NOGROUP") != absl::string_view::npos) {
      LIVECALL_RETURN_IF_ERROR(EnsureGroup());
      return 0;
    }
    return fresh.status();
  }
  if ((*fresh)->type == REDIS_REPLY_ARRAY && (*fresh)->elements > 0) {
    // [[stream, [entries...]]]
    absl::StatusOr<std::vector<Entry>> entries = ParseEntries(*(*fresh)->element[0]->element[1]);
    if (!entries.ok()) return entries.status();
    for (const Entry& entry : *entries) {
      absl::StatusOr<bool> ok = Attempt(entry, 1, now);
      if (!ok.ok()) return ok.status();
      delivered += *ok;
    }
  }
  // Entries that failed before (made claimable when their backoff runs out) or that a dead
  // replica took (idle past any POST's end): claim them, then attempt the ones that are due.
  absl::StatusOr<RedisReply> claimed =
      redis_.Command({"XAUTOCLAIM", kOutboxKey, kOutboxGroup, options_.consumer,
                      absl::StrCat(absl::ToInt64Milliseconds(reclaim_idle_)), claim_cursor_,
                      "COUNT", absl::StrCat(options_.batch)});
  if (!claimed.ok()) return claimed.status();
  if ((*claimed)->type != REDIS_REPLY_ARRAY || (*claimed)->elements < 2) return delivered;
  claim_cursor_ = ReplyString(*(*claimed)->element[0]);
  absl::StatusOr<std::vector<Entry>> entries = ParseEntries(*(*claimed)->element[1]);
  if (!entries.ok()) return entries.status();
  for (const Entry& entry : *entries) {
    int attempts = 0;
    int64_t next_ms = 0;
    absl::StatusOr<RedisReply> state = redis_.Command({"HGET", kOutboxAttemptsKey, entry.id});
    if (!state.ok()) return state.status();
    if (!IsNil(**state)) {
      std::vector<std::string> parts = absl::StrSplit(ReplyString(**state), ':');
      if (parts.size() == 2) {
        (void)absl::SimpleAtoi(parts[0], &attempts);
        (void)absl::SimpleAtoi(parts[1], &next_ms);
      }
    }
    if (absl::ToUnixMillis(now) < next_ms) {
      // Not due (claimed early, e.g. by a replica whose clock runs ahead): claimable when it is.
      LIVECALL_RETURN_IF_ERROR(
          ClaimableAfter(entry.id, absl::Milliseconds(next_ms - absl::ToUnixMillis(now))));
      continue;
    }
    absl::StatusOr<bool> ok = Attempt(entry, attempts + 1, now);
    if (!ok.ok()) return ok.status();
    delivered += *ok;
  }
  return delivered;
}

absl::StatusOr<int64_t> OutboxDeliverer::Backlog() {
  absl::StatusOr<RedisReply> length = redis_.Command({"XLEN", kOutboxKey});
  if (!length.ok()) return length.status();
  return (*length)->integer;
}

void OutboxDeliverer::Start() {
  loop_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      mu_.Unlock();
      absl::StatusOr<int> delivered = RunOnce(absl::Now());
      if (!delivered.ok()) {
        LogWarning("outbox pass failed", {{"error", delivered.status().ToString()}});
      }
      mu_.Lock();
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.poll);
    }
  });
}

void OutboxDeliverer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (loop_.joinable()) loop_.join();
}

}  // namespace livecall::context
