#include "common/config.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace livecall {

EnvReader::EnvReader() : lookup_([](const char* name) { return std::getenv(name); }) {}

EnvReader::EnvReader(std::function<const char*(const char*)> lookup) : lookup_(std::move(lookup)) {}

const char* EnvReader::Lookup(const char* name) const {
  const char* value = lookup_(name);
  if (value == nullptr || *value == '\0') return nullptr;
  // A variable named for a credential is kept out of the log from the moment it is read
  // (common/log.h); "name:key,..." lists register each key too.
  const absl::string_view variable(name);
  if (absl::EndsWith(variable, "_SECRET") || absl::EndsWith(variable, "_TOKEN") ||
      absl::EndsWith(variable, "_KEY") || absl::EndsWith(variable, "_KEYS") ||
      absl::EndsWith(variable, "_PASSWORD")) {
    RegisterLogSecret(value);
    for (absl::string_view entry : absl::StrSplit(value, ',')) {
      const size_t colon = entry.find(':');
      if (colon != absl::string_view::npos) RegisterLogSecret(entry.substr(colon + 1));
    }
  }
  return value;
}

std::string EnvReader::String(const char* name, absl::string_view default_value) {
  const char* value = Lookup(name);
  return value ? std::string(value) : std::string(default_value);
}

std::string EnvReader::OptionalString(const char* name) { return String(name, ""); }

int64_t EnvReader::Int(const char* name, int64_t default_value, int64_t min, int64_t max) {
  const char* value = Lookup(name);
  if (value == nullptr) return default_value;
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed)) {
    AddError(name, absl::StrCat("\"", value, "\" is not an integer"));
    return default_value;
  }
  if (parsed < min || parsed > max) {
    AddError(name, absl::StrCat(parsed, " is outside ", min, "..", max));
    return default_value;
  }
  return parsed;
}

absl::Duration EnvReader::Millis(const char* name, absl::Duration default_value, absl::Duration min,
                                 absl::Duration max) {
  int64_t ms = Int(name, absl::ToInt64Milliseconds(default_value), absl::ToInt64Milliseconds(min),
                   absl::ToInt64Milliseconds(max));
  return absl::Milliseconds(ms);
}

std::string EnvReader::Address(const char* name, absl::string_view default_value) {
  std::string address = String(name, default_value);
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(address, &host, &port)) {
    AddError(name, absl::StrCat("\"", address, "\" is not host:port"));
    return std::string(default_value);
  }
  return address;
}

std::string EnvReader::Target(const char* name, absl::string_view default_value) {
  std::string target = String(name, default_value);
  absl::string_view host_port = target;
  absl::ConsumePrefix(&host_port, "dns:///");
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(host_port, &host, &port)) {
    AddError(name, absl::StrCat("\"", target, "\" is not host:port or dns:///host:port"));
    return std::string(default_value);
  }
  return target;
}

void EnvReader::AddError(const char* name, absl::string_view problem) {
  errors_.push_back(absl::StrCat(name, ": ", problem));
}

absl::Status EnvReader::status() const {
  if (errors_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid configuration: ", absl::StrJoin(errors_, "; ")));
}

ServiceAddresses ReadServiceAddresses(EnvReader& env) {
  ServiceAddresses addresses;
  addresses.call_control = env.Target("LIVECALL_CALL_CONTROL_ADDR", "127.0.0.1:50051");
  addresses.ai_session = env.Target("LIVECALL_AI_SESSION_ADDR", "127.0.0.1:50052");
  addresses.context = env.Target("LIVECALL_CONTEXT_ADDR", "127.0.0.1:50053");
  return addresses;
}

std::string ReadGrpcListenAddress(EnvReader& env, const char* own_variable,
                                  absl::string_view own_value) {
  // Literal names, not a local array: the manifest tests find the variables a binary reads among
  // its string constants.
  if (!env.OptionalString("LIVECALL_GRPC_LISTEN_ADDR").empty()) {
    return env.Address("LIVECALL_GRPC_LISTEN_ADDR", "0.0.0.0:0");
  }
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(own_value, &host, &port)) {
    env.AddError(own_variable, absl::StrCat("\"", own_value,
                                            "\" is a dial target, not an address to listen on; "
                                            "set LIVECALL_GRPC_LISTEN_ADDR (e.g. 0.0.0.0:50051)"));
  }
  return std::string(own_value);
}

bool SplitHostPort(absl::string_view address, std::string* host, uint16_t* port) {
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  absl::string_view host_part = address.substr(0, colon);
  if (host_part.front() == '[') {
    if (host_part.back() != ']' || host_part.size() < 3) return false;
    host_part = host_part.substr(1, host_part.size() - 2);
  } else if (host_part.find(':') != absl::string_view::npos) {
    return false;
  }
  uint32_t parsed = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &parsed) || parsed == 0 || parsed > 65535) {
    return false;
  }
  *host = std::string(host_part);
  *port = static_cast<uint16_t>(parsed);
  return true;
}

}  // namespace livecall
