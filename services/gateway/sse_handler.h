#ifndef LIVECALL_SERVICES_GATEWAY_SSE_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_SSE_HANDLER_H_

// The live-event routes (GET /api/calls/{call_sid}/events, GET /ai/sessions/{session_id}/events)
// as Server-Sent Events, read from the Redis event streams through the process's EventHub — so
// an event written on any replica reaches a browser on any gateway replica. Each event is
//   id: <redis stream id>\nevent: <type>\ndata: <LiveEvent as JSON>\n\n
// Last-Event-ID (header, or ?lastEventId= for clients that cannot set headers) resumes after that
// event; without it the stream starts at the oldest event kept, so a reloaded page rebuilds its
// transcript. Idle streams get a ": ping" comment every heartbeat.

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/event_hub.h"
#include "services/gateway/http_response.h"
#include "services/gateway/http_server.h"
#include "services/gateway/route_table.h"

namespace livecall::gateway {

// Caps on open live-event streams, so that cheap requests cannot hold unbounded connections and
// Redis readers: per identity (an agent's token) and in total. Thread-safe. Over the per-identity
// cap the identity's oldest stream is ended (a reloaded page's new stream supersedes the one its
// closed tab has not yet released; EventSource does not retry a refusal); over the total cap the
// new stream is refused.
class LiveStreamLimits {
 public:
  struct Options {
    int per_identity = 5;
    int total = 1000;
  };
  explicit LiveStreamLimits(Options options) : options_(options) {}

  // A slot for one stream of `identity` (empty: counted in the total only), held until the
  // returned handle is released; RESOURCE_EXHAUSTED over the total cap. `evict` is called (once,
  // from any thread) when a newer stream of the identity takes this one's place.
  absl::StatusOr<std::shared_ptr<void>> Acquire(const std::string& identity,
                                                std::function<void()> evict = {})
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Open {
    uint64_t id;
    std::function<void()> evict;
  };
  void Release(const std::string& identity, uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  absl::Mutex mu_;
  int total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Each identity's counted streams, oldest first.
  absl::flat_hash_map<std::string, std::deque<Open>> per_identity_ ABSL_GUARDED_BY(mu_);
};

// What a live-event stream is allowed: a slot of `limits` for `identity` (no limits: null), and
// an end at `ends_at` (the expiry of the token that opened it).
struct LiveStreamGrant {
  LiveStreamLimits* limits = nullptr;
  std::string identity;
  absl::Time ends_at = absl::InfiniteFuture();
};

// One event in SSE framing; multi-line data becomes several data: lines (a CR before a line
// break is dropped).
std::string FormatServerSentEvent(const StreamEntry& entry);
// The same, appended to `out`.
void AppendServerSentEvent(const StreamEntry& entry, std::string* out);

// The answer to a matched live-event route: a streamed 200, or the error response for a bad
// request (unknown id shape 404, malformed Last-Event-ID 400). `hub` null: 503.
// Over a cap of `grant.limits`: 429.
HttpResponse ServeLiveEvents(EventHub* hub, const RouteMatch& match, const HttpRequest& request,
                             absl::string_view query, const LiveStreamGrant& grant = {});

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_SSE_HANDLER_H_
