#ifndef LIVECALL_COMMON_SESSION_VERSION_H_
#define LIVECALL_COMMON_SESSION_VERSION_H_

namespace livecall {

// The trailing metadata in which context's CreateSession, GetSession and AssignSession send the
// session's version (decimal; context.proto, the Context service), read by ai-session for its
// session copies. One name for both sides of the wire.
inline constexpr char kSessionVersionMetadata[] = "livecall-session-version";

}  // namespace livecall

#endif  // LIVECALL_COMMON_SESSION_VERSION_H_
