#include "services/gateway/sse_handler.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/live_events.h"
#include "livecall/v1/context.pb.h"
#include "services/gateway/error_response.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

// One subscription to the hub for one connection.
class SseStream final : public StreamBody {
 public:
  SseStream(EventHub& hub, std::string stream_key, std::string after_id)
      : hub_(hub), stream_key_(std::move(stream_key)), after_id_(std::move(after_id)) {}
  ~SseStream() override { Stop(); }

  void Start(std::shared_ptr<StreamSink> sink) override {
    // The first bytes flush the head through proxies; retry: is EventSource's reconnect delay.
    sink->Write("retry: 3000\n: connected\n\n");
    handle_ =
        hub_.Subscribe(stream_key_, after_id_, [sink](const std::vector<StreamEntry>& entries) {
          if (entries.empty()) return sink->Write(": ping\n\n");
          std::string text;
          for (const StreamEntry& entry : entries) {
            text += FormatServerSentEvent(entry);
          }
          sink->Write(std::move(text));
        });
    started_ = true;
  }

  void Stop() override {
    if (started_ && !stopped_.exchange(true)) hub_.Unsubscribe(handle_);
  }

 private:
  EventHub& hub_;
  const std::string stream_key_;
  const std::string after_id_;
  uint64_t handle_ = 0;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::string FormatServerSentEvent(const StreamEntry& entry) {
  std::string text = absl::StrCat("id: ", entry.id, "\n");
  if (!entry.type.empty()) absl::StrAppend(&text, "event: ", entry.type, "\n");
  for (absl::string_view line : absl::StrSplit(entry.data, '\n')) {
    absl::StrAppend(&text, "data: ", absl::StripSuffix(line, "\r"), "\n");
  }
  text += "\n";
  return text;
}

HttpResponse ServeLiveEvents(EventHub* hub, const RouteMatch& match, const HttpRequest& request,
                             absl::string_view query) {
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
  HttpResponse response;
  response.status = 200;
  response.content_type = "text/event-stream; charset=utf-8";
  response.stream = std::make_shared<SseStream>(*hub, *key, watch.after_event_id());
  return response;
}

}  // namespace livecall::gateway
