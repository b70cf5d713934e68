#ifndef LIVECALL_SERVICES_CONTEXT_OUTBOX_H_
#define LIVECALL_SERVICES_CONTEXT_OUTBOX_H_

// Delivers finished conversations from the outbox (the Redis Stream livecall:{outbox}, filled by
// SessionStore::End) to the CRM webhook, at least once: an entry is acknowledged and deleted only
// after the CRM answered 2xx, and a failed delivery is retried with exponential backoff until it
// succeeds. The outbox is never trimmed: an entry leaves it only delivered, or refused for good
// (below); a long CRM outage shows as a backlog (gauges livecall_outbox_backlog and
// livecall_outbox_oldest_age_seconds, to alert on), never as lost conversations.
// Entries are read through the consumer group "crm", so several context replicas share the work,
// and an entry a dead replica had taken is claimed by another once it has been idle for
// ReclaimIdle(webhook timeout), longer than any POST may take. Before each POST the replica renews
// its claim (resets the entry's idle time, only if it still owns the entry), so however long a
// batch takes, no two replicas ever POST the same entry at once; after a failed POST it sets the
// idle time so that the entry becomes claimable exactly when its backoff has run out.
// A CRM answer 4xx other than 408/429 refuses the record for good: retrying cannot help, so the
// entry moves to the dead-letter stream (counter livecall_outbox_dead_lettered_total, gauge
// livecall_outbox_dead_letters) until an operator replays it (ReplayDeadLetters,
// `livecall-context --replay-dead-letters`) after fixing the cause.
//   livecall:{outbox}           STREAM  fields session_id, idempotency_key, record (JSON), and
//                                       replayed ("1", for an entry moved back from the dead
//                                       letters)
//   livecall:{outbox}:attempts  HASH    entry id -> "<attempts>:<next attempt, unix ms>"
//   livecall:{outbox}:dead      STREAM  the refused entries' fields, plus status (the CRM's HTTP
//                                       status), error (the start of its answer), outbox_id,
//                                       attempts
// (One hash tag: the scripts that move entries between them run on one Redis Cluster node.)
// SessionStore::End adds an entry just before the script that ends the session names it, so an
// entry may belong to an end that failed: before its first POST the deliverer asks the session's
// slot (ConfirmOutboxEntry) and drops an entry no end names -- no CRM ever sees a conversation
// that did not end, and none that ended is lost.
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
inline constexpr char kOutboxAttemptsKey[] = "livecall:{outbox}:attempts";
inline constexpr char kOutboxDeadLettersKey[] = "livecall:{outbox}:dead";

// How long an outbox entry taken by one replica must have been idle before another may claim it:
// longer than a POST with `webhook_timeout` can last, with a margin (twice the timeout, at least
// one second more) for the Redis round trips around it and a slow scheduler.
absl::Duration ReclaimIdle(absl::Duration webhook_timeout);

// Whether a CRM answer refuses the record for good (4xx, except 408 Request Timeout and 429 Too
// Many Requests, which say "later").
bool IsPermanentRefusal(int http_status);

// What the outbox gauges show; see SampleOutboxGauges.
struct OutboxStats {
  int64_t backlog = 0;                               // Entries not yet delivered.
  absl::Duration oldest_age = absl::ZeroDuration();  // Of the oldest of them, by Redis' clock.
  int64_t dead_letters = 0;
};
absl::StatusOr<OutboxStats> ReadOutboxStats(RedisPool& redis);
// Sets livecall_outbox_backlog, livecall_outbox_oldest_age_seconds and
// livecall_outbox_dead_letters from ReadOutboxStats (unchanged when Redis cannot answer).
void SampleOutboxGauges(RedisPool& redis);

// Moves every dead letter back into the outbox as a new entry (the same session, idempotency key
// and record, attempts from one again), oldest first; answers how many. Each batch moves
// atomically, so a letter is never in both streams nor lost.
absl::StatusOr<int64_t> ReplayDeadLetters(RedisPool& redis);

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
      : redis_(redis),
        http_(http),
        options_(std::move(options)),
        reclaim_idle_(ReclaimIdle(options_.timeout)) {}
  ~OutboxDeliverer();

  // Creates the consumer group (from the start of the stream, so a backlog written before the
  // webhook was configured is delivered too). Idempotent.
  absl::Status EnsureGroup();

  // One pass: new entries, then entries whose retry is due. Returns how many were delivered.
  absl::StatusOr<int> RunOnce(absl::Time now);

  // Entries not yet delivered.
  absl::StatusOr<int64_t> Backlog();
  absl::Duration reclaim_idle() const { return reclaim_idle_; }

  void Start();
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string id;
    std::string session_id;
    std::string idempotency_key;
    std::string record;
    bool replayed = false;  // Moved back from the dead letters: confirmed before.
  };
  // true when delivered (acknowledged and deleted). Nothing when another replica owns the entry.
  absl::StatusOr<bool> Attempt(const Entry& entry, int attempt_number, absl::Time now);
  // If this replica still owns the pending entry, sets its idle time to `idle` (zero: renews the
  // claim for a POST; more: makes it claimable that much sooner) and answers true.
  absl::StatusOr<bool> SetIdleIfMine(const std::string& id, absl::Duration idle);
  // Makes an entry this replica owns claimable again after `delay` (its backoff).
  absl::Status ClaimableAfter(const std::string& id, absl::Duration delay);
  absl::Status DeadLetter(const Entry& entry, int attempt_number, const HttpResponse& response);
  // Acknowledges and deletes a delivered (or dropped) entry.
  absl::Status Remove(const std::string& id);
  absl::StatusOr<std::vector<Entry>> ParseEntries(const redisReply& entries);

  RedisPool& redis_;
  HttpClient& http_;
  const OutboxOptions options_;
  const absl::Duration reclaim_idle_;
  std::string claim_cursor_ = "0-0";
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread loop_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_OUTBOX_H_
