#include "common/live_events.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/event_hub.h"
#include "common/ids.h"
#include "common/redis_cluster.h"

namespace livecall {
namespace {

bool IsHexId(const std::string& id, absl::string_view prefix) {
  if (id.size() != prefix.size() + 32 ||
      id.compare(0, prefix.size(), prefix.data(), prefix.size()) != 0) {
    return false;
  }
  for (size_t i = prefix.size(); i < id.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

}  // namespace

int SessionSlot(const std::string& session_id) {
  uint32_t prefix = 0;
  if (session_id.size() < 8 || !absl::SimpleHexAtoi(session_id.substr(4, 4), &prefix)) return 0;
  return static_cast<int>(prefix % kRedisClusterSlots);
}

std::string SessionKeyPrefix(const std::string& session_id) {
  return absl::StrCat("livecall:session:{", SlotHashTag(SessionSlot(session_id)), "}:", session_id);
}

std::string NewSessionId(int slot) {
  std::string id = NewId("ses_");
  if (slot >= 0 && id.size() >= 8) {
    char digits[5];
    std::snprintf(digits, sizeof(digits), "%04x", slot % kRedisClusterSlots);
    id.replace(4, 4, digits);
  }
  return id;
}

absl::StatusOr<std::string> WatchedStreamKey(const livecall::v1::WatchEventsRequest& request) {
  if (!request.after_event_id().empty() && !IsStreamId(request.after_event_id())) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", request.after_event_id(), "\" is not an event id"));
  }
  if (!request.session_id().empty() && !request.call_sid().empty()) {
    return absl::InvalidArgumentError("name a session or a call, not both");
  }
  if (!request.session_id().empty()) {
    if (!IsHexId(request.session_id(), "ses_")) {
      return absl::NotFoundError(absl::StrCat("no session \"", request.session_id(), "\""));
    }
    return SessionEventsKey(request.session_id());
  }
  if (!request.call_sid().empty()) {
    if (!IsHexId(request.call_sid(), "CA")) {
      return absl::NotFoundError(absl::StrCat("no call \"", request.call_sid(), "\""));
    }
    return CallEventsKey(request.call_sid());
  }
  return absl::InvalidArgumentError("sessionId or callSid is required");
}

}  // namespace livecall
