#ifndef LIVECALL_COMMON_CALLER_IDENTITY_H_
#define LIVECALL_COMMON_CALLER_IDENTITY_H_

// Who calls a gRPC service, and on whose behalf.
//
// Peers authenticate with per-service API keys: every call a process makes to a peer
// (PreparePeerCall, common/grpc_server.h) sends its LIVECALL_GRPC_API_KEY as `x-api-key`
// metadata, and every gRPC service accepts the keys listed in its LIVECALL_GRPC_API_KEYS
// ("gateway:<key>,call-control:<key>"), answering UNAUTHENTICATED otherwise (health checks and
// reflection stay open). Only an authenticated peer's `x-livecall-agent` / `x-livecall-role`
// metadata is believed: the gateway sets them from an agent's verified bearer token; a peer that
// sends none acts for itself, with the role "service".
// mTLS (grpc::SslServerCredentials with client certificates) is the documented alternative.
//
// The services decide ownership with the identity: an agent reads and controls only the calls and
// sessions it owns; a supervisor or a service, any.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/config.h"
#include "livecall/v1/http.pb.h"

namespace livecall {

inline constexpr char kApiKeyMetadata[] = "x-api-key";
inline constexpr char kAgentMetadata[] = "x-livecall-agent";
inline constexpr char kRoleMetadata[] = "x-livecall-role";

using livecall::v1::Role;
inline constexpr Role kRoleAgent = livecall::v1::ROLE_AGENT;
inline constexpr Role kRoleSupervisor = livecall::v1::ROLE_SUPERVISOR;
inline constexpr Role kRoleService = livecall::v1::ROLE_SERVICE;

// The role spelled `text` ("agent", "supervisor" or "service": a token's `role` claim, the
// x-livecall-role metadata); nullopt for anything else.
std::optional<Role> ParseRole(absl::string_view text);
// The role's spelling, as tokens, metadata, logs and JSON carry it.
const std::string& RoleName(Role role);

// 1-128 printable ASCII characters without quotes or backslashes: safe as metadata, in a quoted
// header value and in logs.
bool IsValidAgentIdentity(absl::string_view agent_id);

struct GrpcAuthConfig {
  // LIVECALL_AUTH=off: no keys are required or sent (local experiments only).
  bool enabled = true;
  // Server side, LIVECALL_GRPC_API_KEYS: (caller name, key) pairs.
  std::vector<std::pair<std::string, std::string>> accepted_keys;
  // Client side, LIVECALL_GRPC_API_KEY: what this process sends to its peers.
  std::string client_key;
};

// Reads LIVECALL_AUTH, LIVECALL_GRPC_API_KEY and (when `serves_grpc`) LIVECALL_GRPC_API_KEYS.
// With auth on, a process that dials peers needs LIVECALL_GRPC_API_KEY and a gRPC service needs
// LIVECALL_GRPC_API_KEYS; keys are at least 16 characters.
GrpcAuthConfig ReadGrpcAuthConfig(EnvReader& env, bool serves_grpc, bool dials_peers = true);

struct CallerIdentity {
  // The API key's name ("gateway", "call-control"); "unauthenticated" when auth is off.
  std::string peer;
  // The agent the peer acts for; empty when the peer acts for itself.
  std::string agent_id;
  Role role = kRoleService;

  bool is_agent() const { return role == kRoleAgent; }
  // Whether the caller may read or control what `owner_agent_id` owns: an agent only its own
  // (never what nobody owns), a supervisor or a service anything.
  bool MayAccess(absl::string_view owner_agent_id) const;
  // The owner to record for something created with `requested_agent_id` (empty: the caller's own
  // agent). PERMISSION_DENIED when an agent asks to create for another agent.
  absl::StatusOr<std::string> OwnerFor(absl::string_view requested_agent_id) const;
};

// PERMISSION_DENIED naming what was refused, in the one wording the services share.
absl::Status NotYours(absl::string_view what);

class GrpcCallerAuthenticator {
 public:
  explicit GrpcCallerAuthenticator(GrpcAuthConfig config);

  // UNAUTHENTICATED without a valid x-api-key (auth on); INVALID_ARGUMENT when the identity
  // metadata is malformed (an unknown role, an agent role without an agent).
  absl::StatusOr<CallerIdentity> Authenticate(const grpc::ServerContextBase& context) const;

 private:
  GrpcAuthConfig config_;
};

// The process's authenticator, installed once by ServeGrpcUntilSignal (common/grpc_server.h)
// before the server starts. Every queued unary RPC authenticates through it before its work
// (common/queued_unary.h), so a new RPC cannot forget to; streaming RPCs call it themselves.
// Before Install (unit tests that build a service in-process) every caller is let in as a
// service, which is what LIVECALL_AUTH=off means.
void InstallGrpcCallerAuthenticator(GrpcAuthConfig config);
absl::StatusOr<CallerIdentity> AuthenticateCaller(const grpc::ServerContextBase& context);

// The key this process sends to its peers; MakePeerChannel (common/grpc_server.h) sets it at
// start-up. Empty: none is sent (LIVECALL_AUTH=off).
void SetPeerApiKey(absl::string_view key);
// Adds `x-api-key: <the process's peer key>` to an outgoing call, when there is a key. Through
// PreparePeerCall (common/grpc_server.h), which the services' peer calls use.
void AddPeerApiKey(grpc::ClientContext* context);

// A client interceptor factory that adds `x-api-key: <key>` to every call of a channel: for tests
// and tools, whose many call sites each build their own ClientContext. The services set the key
// per call instead (AddPeerApiKey): an interceptor costs every call gRPC's interception machinery.
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewApiKeyInterceptorFactory(
    std::string key);

}  // namespace livecall

#endif  // LIVECALL_COMMON_CALLER_IDENTITY_H_
