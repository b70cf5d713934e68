#include "services/gateway/sse_handler.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/live_events.h"
#include "common/log.h"
#include "livecall/v1/context.pb.h"
#include "services/gateway/error_response.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

// Ends a stream that a newer one of the same identity superseded (LiveStreamLimits), before or
// after it started.
class Eviction {
 public:
  void Evict() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    evicted_ = true;
    if (sink_) sink_->End();
  }
  void Started(std::shared_ptr<StreamSink> sink) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    sink_ = std::move(sink);
    if (evicted_) sink_->End();
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<StreamSink> sink_ ABSL_GUARDED_BY(mu_);
  bool evicted_ ABSL_GUARDED_BY(mu_) = false;
};

// One subscription to the hub for one connection.
class SseStream final : public StreamBody {
 public:
  SseStream(EventHub& hub, std::string stream_key, std::string after_id, std::shared_ptr<void> slot,
            std::shared_ptr<Eviction> eviction)
      : hub_(hub),
        stream_key_(std::move(stream_key)),
        after_id_(std::move(after_id)),
        slot_(std::move(slot)),
        eviction_(std::move(eviction)) {}
  ~SseStream() override { Stop(); }

  void Start(std::shared_ptr<StreamSink> sink) override {
    // The first bytes flush the head through proxies; retry: is EventSource's reconnect delay.
    sink->Write("retry: 3000\n: connected\n\n");
    handle_ =
        hub_.Subscribe(stream_key_, after_id_, [sink](const std::vector<StreamEntry>& entries) {
          if (entries.empty()) return sink->Write(": ping\n\n");
          std::string text;
          for (const StreamEntry& entry : entries) AppendServerSentEvent(entry, &text);
          sink->Write(std::move(text));
        });
    started_ = true;
    eviction_->Started(sink);
  }

  void Stop() override {
    if (started_ && !stopped_.exchange(true)) hub_.Unsubscribe(handle_);
  }

 private:
  EventHub& hub_;
  const std::string stream_key_;
  const std::string after_id_;
  // The stream's place under LiveStreamLimits, given back when the connection is gone.
  const std::shared_ptr<void> slot_;
  const std::shared_ptr<Eviction> eviction_;
  uint64_t handle_ = 0;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace

absl::StatusOr<std::shared_ptr<void>> LiveStreamLimits::Acquire(const std::string& identity,
                                                                std::function<void()> evict) {
  std::function<void()> evicted;
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (total_ >= options_.total) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "this gateway already serves ", options_.total, " live-event streams; retry later"));
    }
    id = ++next_id_;
    if (!identity.empty()) {
      std::deque<Open>& open = per_identity_[identity];
      if (static_cast<int>(open.size()) >= options_.per_identity) {
        evicted = std::move(open.front().evict);
        open.pop_front();
      }
      open.push_back({id, std::move(evict)});
    }
    ++total_;
  }
  if (evicted) {
    // An operator seeing streams end early can tell a superseded one from a failure.
    LogInfo("live-event stream ended: a newer stream of the same agent took its place",
            {{"agent", identity}, {"max_per_agent", absl::StrCat(options_.per_identity)}});
    evicted();
  }
  return std::shared_ptr<void>(nullptr, [this, identity, id](void*) { Release(identity, id); });
}

void LiveStreamLimits::Release(const std::string& identity, uint64_t id) {
  absl::MutexLock lock(&mu_);
  --total_;
  auto it = per_identity_.find(identity);
  if (it == per_identity_.end()) return;
  std::deque<Open>& open = it->second;
  for (auto entry = open.begin(); entry != open.end(); ++entry) {
    if (entry->id == id) {
      open.erase(entry);
      break;
    }
  }
  if (open.empty()) per_identity_.erase(it);
}

void AppendServerSentEvent(const StreamEntry& entry, std::string* out) {
  // One pass with one growth: this runs for every event on every open stream.
  out->reserve(out->size() + entry.id.size() + entry.type.size() + entry.data.size() + 32);
  out->append("id: ").append(entry.id).push_back('\n');
  if (!entry.type.empty()) out->append("event: ").append(entry.type).push_back('\n');
  const absl::string_view data = entry.data;
  size_t start = 0;
  while (true) {
    const size_t end = data.find('\n', start);
    absl::string_view line =
        data.substr(start, end == absl::string_view::npos ? absl::string_view::npos : end - start);
    absl::ConsumeSuffix(&line, "\r");
    out->append("data: ").append(line.data(), line.size()).push_back('\n');
    if (end == absl::string_view::npos) break;
    start = end + 1;
  }
  out->push_back('\n');
}

std::string FormatServerSentEvent(const StreamEntry& entry) {
  std::string text;
  AppendServerSentEvent(entry, &text);
  return text;
}

HttpResponse ServeLiveEvents(EventHub* hub, const RouteMatch& match, const HttpRequest& request,
                             absl::string_view query, const LiveStreamGrant& grant) {
  if (hub == nullptr) {
    return HttpErrorResponse(503, "UNAVAILABLE", "live events are not available on this gateway");
  }
  livecall::v1::WatchEventsRequest watch;
  for (const auto& [field, value] : match.bindings) {
    watch.GetReflection()->SetString(&watch, field, value);
  }
  if (auto last = request.find("Last-Event-ID"); last != request.end()) {
    watch.set_after_event_id(std::string(last->value().data(), last->value().size()));
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> params = ParseQuery(query);
  if (!params.ok()) return ErrorResponse(params.status());
  for (const auto& [name, value] : *params) {
    if (name == "lastEventId" || name == "last_event_id") {
      if (watch.after_event_id().empty()) watch.set_after_event_id(value);
    } else {
      return HttpErrorResponse(400, "INVALID_ARGUMENT",
                               absl::StrCat("unknown query parameter \"", name, "\""));
    }
  }
  absl::StatusOr<std::string> key = WatchedStreamKey(watch);
  if (!key.ok()) return ErrorResponse(key.status());
  std::shared_ptr<void> slot;
  auto eviction = std::make_shared<Eviction>();
  if (grant.limits != nullptr) {
    absl::StatusOr<std::shared_ptr<void>> acquired =
        grant.limits->Acquire(grant.identity, [eviction] { eviction->Evict(); });
    if (!acquired.ok()) {
      HttpResponse refused = ErrorResponse(acquired.status());
      refused.headers.emplace_back("Retry-After", "5");
      return refused;
    }
    slot = *std::move(acquired);
  }
  HttpResponse response;
  response.status = 200;
  response.content_type = "text/event-stream; charset=utf-8";
  response.stream = std::make_shared<SseStream>(*hub, *key, watch.after_event_id(), std::move(slot),
                                                std::move(eviction));
  response.stream_ends_at = grant.ends_at;
  return response;
}

}  // namespace livecall::gateway
