#ifndef LIVECALL_COMMON_LIVE_EVENTS_H_
#define LIVECALL_COMMON_LIVE_EVENTS_H_

// Where live events travel: one Redis Stream per session and one per call. Services append with
// XADD (in the same atomic write as the state change the event reports); the gateway reads them
// for Server-Sent Events. A stream entry has two fields: "type" and "data" (the LiveEvent as
// proto3 JSON), and its Redis id is the SSE event id.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "livecall/v1/context.pb.h"

namespace livecall {

// Events kept per stream; older ones are trimmed (approximately) by XADD MAXLEN.
inline constexpr int kLiveEventsKept = 1000;

// Every writer PUBLISHes a stream's key on this channel in the same atomic write as its XADD, so
// readers (common/event_hub.h) XREAD only the streams with news instead of naming every stream
// they watch in each XREAD. A notification is a hint: readers also sweep all their streams now
// and then, so a lost one (or a writer that does not publish) delays an event, never loses it.
inline constexpr char kLiveEventsChannel[] = "livecall:live-events";
#define LIVECALL_LIVE_EVENTS_CHANNEL "livecall:live-events"

// Keys carry Redis Cluster hash tags: a call's keys are tagged with its sid, and a session's with
// a tag naming the slot its id was made for (SessionKeyPrefix), the slot of its call when it runs
// beside one. So a script that writes a session and its call's stream touches one slot.

// "livecall:session:{<tag>}:<id>": every key of the session starts with it.
std::string SessionKeyPrefix(const std::string& session_id);
// The hash slot a session id was made for: its first four hex digits, modulo 16384 (NewSessionId).
int SessionSlot(const std::string& session_id);
// "ses_" + 32 hex digits, the first four naming `slot` (-1: a random slot).
std::string NewSessionId(int slot);

inline std::string SessionEventsKey(const std::string& session_id) {
  return absl::StrCat(SessionKeyPrefix(session_id), ":events");
}

// "livecall:call:{<sid>}": every key of the call starts with it.
inline std::string CallKeyPrefix(const std::string& call_sid) {
  return absl::StrCat("livecall:call:{", call_sid, "}");
}

inline std::string CallEventsKey(const std::string& call_sid) {
  return absl::StrCat(CallKeyPrefix(call_sid), ":events");
}

// The stream a watch names (a session's or a call's). INVALID_ARGUMENT for a malformed resume id
// or for naming both or neither; NOT_FOUND for an id that cannot name a session or call.
absl::StatusOr<std::string> WatchedStreamKey(const livecall::v1::WatchEventsRequest& request);

static_assert(std::string_view(kLiveEventsChannel) == LIVECALL_LIVE_EVENTS_CHANNEL);

}  // namespace livecall

#endif  // LIVECALL_COMMON_LIVE_EVENTS_H_
