#ifndef LIVECALL_COMMON_PROTO_TIME_H_
#define LIVECALL_COMMON_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace livecall {

// Kept to the millisecond: finer is noise for calls and turns, and proto3 JSON then prints three
// fractional digits instead of nine in every stored event and every API answer.
inline google::protobuf::Timestamp ToProtoTimestamp(absl::Time time) {
  google::protobuf::Timestamp timestamp;
  const int64_t millis = absl::ToUnixMillis(time);
  timestamp.set_seconds(millis / 1000);
  timestamp.set_nanos(static_cast<int32_t>(millis % 1000) * 1000000);
  return timestamp;
}

inline absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_PROTO_TIME_H_
