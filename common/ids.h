#ifndef LIVECALL_COMMON_IDS_H_
#define LIVECALL_COMMON_IDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace livecall {

// `prefix` followed by 2*bytes lowercase hex digits from a cryptographic source, e.g.
// NewId("CA", 16) is a Twilio-shaped call SID. Ids are unguessable because URLs carry them.
std::string NewId(absl::string_view prefix, int bytes = 16);

// A request id: 32 lowercase hex digits (the shape of NewId("", 16)) from a per-thread
// absl::BitGen seeded from the OS's entropy. A request id must be unique, not secret (it is
// echoed in answers and logs and grants nothing), so it skips RAND_bytes (~7.5k instructions
// per id); anything a client could use as a capability (session ids, call SIDs, URL secrets)
// stays on NewId.
std::string NewRequestId();

// A call SID as Twilio and the sandbox (NewId("CA")) make them: "CA" and 32 hex digits.
bool IsCallSidShaped(absl::string_view sid);

}  // namespace livecall

#endif  // LIVECALL_COMMON_IDS_H_
