#ifndef LIVECALL_SERVICES_CONTEXT_OUTBOX_H_
#define LIVECALL_SERVICES_CONTEXT_OUTBOX_H_

// Delivers finished conversations from the outbox (the Redis Stream livecall:outbox, filled by
// SessionStore::End) to the CRM webhook, at least once: an entry is acknowledged and deleted only
// after the CRM answered 2xx, and a failed delivery is retried with exponential backoff until it
// succeeds. Entries are read through the consumer group "crm", so several context replicas share
// the work, and an entry a dead replica had taken is claimed by another once it has been idle.
//   livecall:outbox             STREAM  fields session_id, idempotency_key, record (JSON)
//   livecall:outbox:attempts    HASH    entry id -> "<attempts>:<next attempt, unix ms>"
// The POST carries the record as JSON and headers Idempotency-Key (the record's key, stable
// across retries) and X-Livecall-Delivery-Attempt.

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http_client.h"
#include "common/redis_pool.h"

namespace livecall::context {

inline constexpr char kOutboxGroup[] = "crm";
inline constexpr char kOutboxAttemptsKey[] = "livecall:outbox:attempts";

struct OutboxOptions {
  std::string webhook_url;
  std::string api_key;   // Bearer token for the CRM, when set.
  std::string consumer;  // This replica's name in the consumer group.
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  absl::Duration poll = absl::Milliseconds(200);
  int batch = 20;
};

class OutboxDeliverer {
 public:
  OutboxDeliverer(RedisPool& redis, HttpClient& http, OutboxOptions options)
      : redis_(redis), http_(http), options_(std::move(options)) {}
  ~OutboxDeliverer();

  // Creates the consumer group (from the start of the stream, so a backlog written before the
  // webhook was configured is delivered too). Idempotent.
  absl::Status EnsureGroup();

  // One pass: new entries, then entries whose retry is due. Returns how many were delivered.
  absl::StatusOr<int> RunOnce(absl::Time now);

  // Entries not yet delivered.
  absl::StatusOr<int64_t> Backlog();

  void Start();
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string id;
    std::string idempotency_key;
    std::string record;
  };
  // true when delivered (acknowledged and deleted).
  absl::StatusOr<bool> Attempt(const Entry& entry, int attempt_number, absl::Time now);
  absl::StatusOr<std::vector<Entry>> ParseEntries(const redisReply& entries);

  RedisPool& redis_;
  HttpClient& http_;
  const OutboxOptions options_;
  std::string claim_cursor_ = "0-0";
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread loop_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_OUTBOX_H_
