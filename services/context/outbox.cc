#include "services/context/outbox.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "services/context/session_store.h"

namespace livecall::context {

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
      if (name == "idempotency_key") e.idempotency_key = ReplyString(*fields.element[f + 1]);
      if (name == "record") e.record = ReplyString(*fields.element[f + 1]);
    }
    parsed.push_back(std::move(e));
  }
  return parsed;
}

absl::StatusOr<bool> OutboxDeliverer::Attempt(const Entry& entry, int attempt_number,
                                              absl::Time now) {
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
    absl::StatusOr<std::vector<RedisReply>> done = redis_.Pipeline({
        {"MULTI"},
        {"XACK", kOutboxKey, kOutboxGroup, entry.id},
        {"XDEL", kOutboxKey, entry.id},
        {"HDEL", kOutboxAttemptsKey, entry.id},
        {"EXEC"},
    });
    if (!done.ok()) return done.status();
    LogInfo("conversation delivered to the crm", {{"entry", entry.id},
                                                  {"key", entry.idempotency_key},
                                                  {"attempt", absl::StrCat(attempt_number)}});
    return true;
  }
  // Exponential backoff: initial, 2x, 4x, ... capped.
  const double factor = std::pow(2.0, std::min(attempt_number - 1, 30));
  const absl::Duration backoff = std::min(options_.initial_backoff * factor, options_.max_backoff);
  absl::StatusOr<RedisReply> noted =
      redis_.Command({"HSET", kOutboxAttemptsKey, entry.id,
                      absl::StrCat(attempt_number, ":", absl::ToUnixMillis(now + backoff))});
  if (!noted.ok()) return noted.status();
  LogWarning("crm webhook failed; will retry",
             {{"entry", entry.id},
              {"attempt", absl::StrCat(attempt_number)},
              {"retry_in_ms", absl::StrCat(absl::ToInt64Milliseconds(backoff))},
              {"error", response.ok() ? absl::StrCat("HTTP ", response->status)
                                      : response.status().ToString()}});
  return false;
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
  // Entries that failed before (or that a dead replica took): claim those idle for at least the
  // initial backoff, then attempt the ones whose own backoff has run out.
  absl::StatusOr<RedisReply> claimed =
      redis_.Command({"XAUTOCLAIM", kOutboxKey, kOutboxGroup, options_.consumer,
                      absl::StrCat(absl::ToInt64Milliseconds(options_.initial_backoff)),
                      claim_cursor_, "COUNT", absl::StrCat(options_.batch)});
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
    if (absl::ToUnixMillis(now) < next_ms) continue;  // Claimed again later, when idle again.
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
