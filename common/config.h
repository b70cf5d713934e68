#ifndef LIVECALL_COMMON_CONFIG_H_
#define LIVECALL_COMMON_CONFIG_H_

// Configuration is read once, at start-up, from the environment into a typed struct per service.
// EnvReader collects every problem so that main() can print them all with the variable's name.
//
//   EnvReader env;
//   config.http_addr = env.String("LIVECALL_HTTP_ADDR", "0.0.0.0:8080");
//   config.pool_size = env.Int("LIVECALL_REDIS_POOL_SIZE", 8, 1, 256);
//   if (absl::Status s = env.status(); !s.ok()) { ... exit(2) }

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall {

class EnvReader {
 public:
  // `lookup` returns the variable's value or nullptr; the default reads the process environment.
  EnvReader();
  explicit EnvReader(std::function<const char*(const char*)> lookup);

  std::string String(const char* name, absl::string_view default_value);
  // Empty string when unset.
  std::string OptionalString(const char* name);
  int64_t Int(const char* name, int64_t default_value, int64_t min, int64_t max);
  // Milliseconds in the environment ("LIVECALL_SANDBOX_RING_MS=2000").
  absl::Duration Millis(const char* name, absl::Duration default_value, absl::Duration min,
                        absl::Duration max);
  // "host:port" (host may be a name, an IPv4 address or [IPv6]).
  std::string Address(const char* name, absl::string_view default_value);
  // A gRPC target to dial: "host:port", or "dns:///host:port" (gRPC's DNS resolver, which returns
  // every address of a headless Service so that round_robin spreads calls over the pods).
  std::string Target(const char* name, absl::string_view default_value);

  // Records a problem found by the caller's own validation.
  void AddError(const char* name, absl::string_view problem);

  // OK, or INVALID_ARGUMENT listing every variable that is wrong and why.
  absl::Status status() const;

 private:
  const char* Lookup(const char* name) const;

  std::function<const char*(const char*)> lookup_;
  std::vector<std::string> errors_;
};

// Where the others dial each service (gRPC targets, see EnvReader::Target), and, unless
// LIVECALL_GRPC_LISTEN_ADDR says otherwise, where the service itself listens. Shared by every
// process.
struct ServiceAddresses {
  std::string call_control;  // LIVECALL_CALL_CONTROL_ADDR
  std::string ai_session;    // LIVECALL_AI_SESSION_ADDR
  std::string context;       // LIVECALL_CONTEXT_ADDR
};
ServiceAddresses ReadServiceAddresses(EnvReader& env);

// Where a gRPC service listens: LIVECALL_GRPC_LISTEN_ADDR ("host:port") when set, else its own
// address `own_value` as read from `own_variable` (LIVECALL_CONTEXT_ADDR, ...), which must then be
// a plain "host:port". In Kubernetes the two differ: a pod listens on 0.0.0.0:50053 while the
// others dial dns:///context:50053.
std::string ReadGrpcListenAddress(EnvReader& env, const char* own_variable,
                                  absl::string_view own_value);

// Splits "host:port"; false when either part is missing or the port is not 1-65535.
bool SplitHostPort(absl::string_view address, std::string* host, uint16_t* port);

}  // namespace livecall

#endif  // LIVECALL_COMMON_CONFIG_H_
