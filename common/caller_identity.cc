#include "common/caller_identity.h"

#include <openssl/crypto.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/enum_json.h"

namespace livecall {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr size_t kMinApiKeyLength = 16;

std::string MetadataValue(const grpc::ServerContextBase& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

bool SameKey(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

class ApiKeyInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ApiKeyInterceptor(const std::string* key) : key_(key) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kApiKeyMetadata, *key_);
    }
    methods->Proceed();
  }

 private:
  const std::string* key_;
};

class ApiKeyInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ApiKeyInterceptorFactory(std::string key) : key_(std::move(key)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new ApiKeyInterceptor(&key_);
  }

 private:
  const std::string key_;
};

}  // namespace

std::optional<Role> ParseRole(absl::string_view text) {
  std::optional<Role> role = ParseEnumJsonName<Role>(text);
  if (role == livecall::v1::ROLE_UNSPECIFIED) return std::nullopt;
  return role;
}

const std::string& RoleName(Role role) { return EnumJsonName(role); }

bool IsValidAgentIdentity(absl::string_view agent_id) {
  if (agent_id.empty() || agent_id.size() > 128) return false;
  for (char c : agent_id) {
    if (c < 0x21 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

GrpcAuthConfig ReadGrpcAuthConfig(EnvReader& env, bool serves_grpc, bool dials_peers) {
  GrpcAuthConfig config;
  const std::string auth = env.String("LIVECALL_AUTH", "on");
  if (auth != "on" && auth != "off") env.AddError("LIVECALL_AUTH", "must be on or off");
  config.enabled = auth != "off";
  config.client_key = env.OptionalString("LIVECALL_GRPC_API_KEY");
  if (!config.client_key.empty() &&
      (config.client_key.size() < kMinApiKeyLength || !IsValidAgentIdentity(config.client_key))) {
    env.AddError("LIVECALL_GRPC_API_KEY",
                 "must be at least 16 printable characters without spaces or quotes");
  }
  if (config.enabled && dials_peers && config.client_key.empty()) {
    env.AddError("LIVECALL_GRPC_API_KEY",
                 "is required while LIVECALL_AUTH is on: the key this process sends to its peers");
  }
  if (!serves_grpc) return config;
  const std::string keys = env.OptionalString("LIVECALL_GRPC_API_KEYS");
  int position = 0;
  for (absl::string_view entry : absl::StrSplit(keys, ',', absl::SkipWhitespace())) {
    ++position;
    entry = absl::StripAsciiWhitespace(entry);
    const size_t colon = entry.find(':');
    const absl::string_view name = colon == absl::string_view::npos ? "" : entry.substr(0, colon);
    const absl::string_view key = colon == absl::string_view::npos ? "" : entry.substr(colon + 1);
    if (name.empty() || key.size() < kMinApiKeyLength || !IsValidAgentIdentity(name) ||
        !IsValidAgentIdentity(key)) {
      // The entry holds a secret: name only its position.
      env.AddError("LIVECALL_GRPC_API_KEYS",
                   absl::StrCat("entry ", position,
                                " is not name:key (a key of at least 16 printable characters)"));
      continue;
    }
    config.accepted_keys.emplace_back(std::string(name), std::string(key));
  }
  if (config.enabled && config.accepted_keys.empty()) {
    env.AddError("LIVECALL_GRPC_API_KEYS",
                 "is required while LIVECALL_AUTH is on: name:key,... of the peers allowed in");
  }
  return config;
}

bool CallerIdentity::MayAccess(absl::string_view owner_agent_id) const {
  if (!is_agent()) return true;
  return !owner_agent_id.empty() && owner_agent_id == agent_id;
}

absl::StatusOr<std::string> CallerIdentity::OwnerFor(absl::string_view requested_agent_id) const {
  if (requested_agent_id.empty()) return agent_id;
  if (is_agent() && requested_agent_id != agent_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("agent ", agent_id, " cannot act on behalf of agent ", requested_agent_id));
  }
  return std::string(requested_agent_id);
}

absl::Status NotYours(absl::string_view what) {
  return absl::PermissionDeniedError(
      absl::StrCat(what, " belongs to another agent; only its agent or a supervisor may use it"));
}

GrpcCallerAuthenticator::GrpcCallerAuthenticator(GrpcAuthConfig config)
    : config_(std::move(config)) {}

absl::StatusOr<CallerIdentity> GrpcCallerAuthenticator::Authenticate(
    const grpc::ServerContextBase& context) const {
  CallerIdentity caller;
  if (config_.enabled) {
    const std::string key = MetadataValue(context, kApiKeyMetadata);
    if (key.empty()) {
      return absl::UnauthenticatedError("no x-api-key metadata: peers must send their API key");
    }
    bool found = false;
    // Every key is compared, so the time taken does not tell which one came close.
    for (const auto& [name, accepted] : config_.accepted_keys) {
      if (SameKey(key, accepted) && !found) {
        found = true;
        caller.peer = name;
      }
    }
    if (!found) return absl::UnauthenticatedError("the x-api-key is not one this service accepts");
  } else {
    caller.peer = "unauthenticated";
  }
  const std::string agent = MetadataValue(context, kAgentMetadata);
  const std::string role_name = MetadataValue(context, kRoleMetadata);
  if (agent.empty() && role_name.empty()) return caller;  // The peer acts for itself.
  const std::optional<Role> role = ParseRole(role_name);
  if (!role.has_value()) {
    return absl::InvalidArgumentError("x-livecall-role must be agent, supervisor or service");
  }
  if (!IsValidAgentIdentity(agent)) {
    return absl::InvalidArgumentError("x-livecall-agent must be 1-128 printable characters");
  }
  caller.agent_id = agent;
  caller.role = *role;
  return caller;
}

namespace {
absl::Mutex installed_mu(absl::kConstInit);
GrpcCallerAuthenticator* installed ABSL_GUARDED_BY(installed_mu) = nullptr;
}  // namespace

void InstallGrpcCallerAuthenticator(GrpcAuthConfig config) {
  auto* authenticator = new GrpcCallerAuthenticator(std::move(config));
  absl::MutexLock lock(&installed_mu);
  delete installed;
  installed = authenticator;
}

absl::StatusOr<CallerIdentity> AuthenticateCaller(const grpc::ServerContextBase& context) {
  absl::ReaderMutexLock lock(&installed_mu);
  if (installed == nullptr) {
    static const GrpcCallerAuthenticator* const kOpen =
        new GrpcCallerAuthenticator(GrpcAuthConfig{.enabled = false});
    return kOpen->Authenticate(context);
  }
  return installed->Authenticate(context);
}

namespace {
absl::Mutex peer_api_key_mu(absl::kConstInit);
std::string* peer_api_key ABSL_GUARDED_BY(peer_api_key_mu) = nullptr;
}  // namespace

void SetPeerApiKey(absl::string_view key) {
  absl::MutexLock lock(&peer_api_key_mu);
  if (peer_api_key == nullptr) peer_api_key = new std::string();
  peer_api_key->assign(key.data(), key.size());
}

void AddPeerApiKey(grpc::ClientContext* context) {
  absl::ReaderMutexLock lock(&peer_api_key_mu);
  if (peer_api_key != nullptr && !peer_api_key->empty()) {
    context->AddMetadata(kApiKeyMetadata, *peer_api_key);
  }
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> NewApiKeyInterceptorFactory(
    std::string key) {
  return std::make_unique<ApiKeyInterceptorFactory>(std::move(key));
}

}  // namespace livecall
