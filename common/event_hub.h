#ifndef LIVECALL_COMMON_EVENT_HUB_H_
#define LIVECALL_COMMON_EVENT_HUB_H_

// Fans live events out of Redis Streams (common/live_events.h) to in-process subscribers: the
// gateway's Server-Sent Events connections and context's gRPC event watchers. One thread per
// process keeps a cursor per watched stream, so ten thousand browsers watching a few hundred calls
// cost a few hundred cursors, not ten thousand connections. It learns which streams have news
// from the writers' notifications (kLiveEventsChannel, on a SUBSCRIBEd connection of its own) and
// XREADs only those: the cost of an event does not grow with the number of streams watched. Every
// watched stream is also read once per `sweep`, so a lost notification delays an event and never
// loses it; while the subscription is down (Redis restarting) the hub sweeps every 100 ms.
//
// Delivery is in stream order, without gaps and without repeats, from the entry after the id a
// subscriber names (its SSE Last-Event-ID) or from the oldest entry kept when it names none.
// Entries trimmed from a stream (more than kLiveEventsKept behind) cannot be replayed. A Redis
// outage pauses delivery; it resumes from the same cursors when Redis is back.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"

namespace livecall {

struct StreamEntry {
  std::string id;  // Redis stream id, "<ms>-<seq>".
  std::string type;
  std::string data;
};

// True for a Redis stream id ("1700000000000-0").
bool IsStreamId(absl::string_view id);

class EventHub {
 public:
  struct Options {
    RedisUrl redis;
    // The longest wait for a notification; also bounds how late a Stop() is noticed.
    absl::Duration block = absl::Seconds(1);
    // Every watched stream is read at least this often, notified or not.
    absl::Duration sweep = absl::Seconds(1);
    // A subscriber that received nothing for this long is called with no entries, so it can send
    // a keep-alive (SSE comment) through proxies.
    absl::Duration heartbeat = absl::Seconds(15);
    int batch = 200;
    // A hub that has watched no stream for this long drops its notification connection (and the
    // thread wake-up every writer's notification costs it); it subscribes again, and sweeps once,
    // with its next watcher.
    absl::Duration idle_unsubscribe = absl::Seconds(10);
  };
  // Called on the hub's thread, in order; must not block. An empty vector is a heartbeat.
  using Callback = std::function<void(const std::vector<StreamEntry>& entries)>;

  explicit EventHub(Options options);
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  void Start();
  void Stop();

  // Returns the subscription's handle for Unsubscribe. `after_id` empty: from the oldest entry.
  uint64_t Subscribe(const std::string& stream, const std::string& after_id, Callback callback)
      ABSL_LOCKS_EXCLUDED(mu_);
  // After it returns, the callback is not running and will not be called again.
  void Unsubscribe(uint64_t handle) ABSL_LOCKS_EXCLUDED(mu_);

  size_t subscriber_count() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Subscriber {
    std::string stream;
    std::string last_id;  // Delivered up to here.
    Callback callback;
    bool caught_up = false;
    absl::Time last_sent;
  };

  void Run();
  // One pass of the loop; errors pause the loop briefly.
  absl::Status Pass();
  absl::Status CatchUp(const std::vector<uint64_t>& handles);
  // XREADs the streams in dirty_ from their cursors and delivers what it finds.
  absl::Status ReadDirtyStreams();
  void DeliverNews(const std::string& stream, const std::vector<StreamEntry>& entries);
  void Deliver(uint64_t handle, const std::vector<StreamEntry>& entries);
  void SendHeartbeats();
  // Opens the notification connection and SUBSCRIBEs; false when Redis cannot be reached.
  bool Listen();
  // Waits up to `timeout` for a notification or a Wake(); notified watched streams go to dirty_.
  void WaitForNews(absl::Duration timeout);
  // Ends WaitForNews early. Never blocks: Subscribe runs on I/O threads.
  void Wake();
  // Whether the hub should hold its notification connection: some stream is watched, or one was
  // within options_.idle_unsubscribe of `now`.
  bool WantsNotifications(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  RedisPool redis_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  // An eventfd that Wake() writes and WaitForNews() polls beside the notification connection.
  int wake_fd_ = -1;

  // Reader thread only: the SUBSCRIBEd connection (null while Redis cannot be reached), the
  // streams to read on the next pass, and when every stream is read next.
  RedisPool::Connection listener_;
  absl::flat_hash_set<std::string> dirty_;
  absl::Time next_sweep_ = absl::InfinitePast();
  // Since when no stream is watched (InfiniteFuture: some is). A new hub watches nothing yet.
  absl::Time unwatched_since_ = absl::InfinitePast();

  mutable absl::Mutex mu_;
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
  // Subscribers still to be caught up by the reader thread.
  std::vector<uint64_t> joining_ ABSL_GUARDED_BY(mu_);
  // Per stream read live: the id up to which the hub has read, and its caught-up subscribers.
  struct WatchedStream {
    std::string cursor;
    std::vector<uint64_t> handles;
  };
  absl::flat_hash_map<std::string, WatchedStream> streams_ ABSL_GUARDED_BY(mu_);
  absl::Time next_heartbeat_check_;  // Reader thread only.
  // Held while callbacks run, so Unsubscribe can wait for a running callback to finish.
  absl::Mutex delivery_mu_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_EVENT_HUB_H_
