#ifndef LIVECALL_COMMON_LIVE_EVENTS_H_
#define LIVECALL_COMMON_LIVE_EVENTS_H_

// Where live events travel: one Redis Stream per session and one per call. Services append with
// XADD (in the same atomic write as the state change the event reports); the gateway reads them
// for Server-Sent Events. A stream entry has two fields: "type" and "data" (the LiveEvent as
// proto3 JSON), and its Redis id is the SSE event id.

#include <string>

#include "absl/strings/str_cat.h"

namespace livecall {

// Events kept per stream; older ones are trimmed (approximately) by XADD MAXLEN.
inline constexpr int kLiveEventsKept = 1000;

inline std::string SessionEventsKey(const std::string& session_id) {
  return absl::StrCat("livecall:session:{", session_id, "}:events");
}

inline std::string CallEventsKey(const std::string& call_sid) {
  return absl::StrCat("livecall:call:", call_sid, ":events");
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_LIVE_EVENTS_H_
