#include "services/context/event_watch.h"

#include <optional>
#include <vector>

#include "common/enum_json.h"
#include "common/live_events.h"
#include "common/log.h"

namespace livecall::context {

StopStream StartEventWatch(EventHub& hub, const std::string& stream,
                           const std::string& after_event_id,
                           QueuedStream<livecall::v1::LiveEventEnvelope>& out) {
  // On the hub's thread, in stream order.
  auto write = [&out](const std::vector<StreamEntry>& entries) {
    if (entries.empty()) return;  // Heartbeats are for SSE; gRPC has its own.
    std::optional<size_t> waiting = 0;
    for (const StreamEntry& entry : entries) {
      livecall::v1::LiveEventEnvelope envelope;
      envelope.set_event_id(entry.id);
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = true;  // Events written by a newer version of the suite.
      if (!ParseJson(entry.data, envelope.mutable_event(), options).ok()) {
        LogWarning("unreadable live event skipped", {{"id", entry.id}});
        continue;
      }
      waiting = out.Write(envelope);
      if (!waiting.has_value()) return;  // Over: the client left or the watch was finished.
    }
    if (*waiting > kMaxQueuedEvents) {
      out.Finish(
          absl::ResourceExhaustedError("the watcher reads too slowly; resume from the last event"));
    }
  };
  const uint64_t handle = hub.Subscribe(stream, after_event_id, std::move(write));
  return [&hub, handle] { hub.Unsubscribe(handle); };
}

}  // namespace livecall::context
