#include "services/gateway/stages/access_stage.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace livecall::gateway {

std::optional<HttpResponse> AccessStage::Process(Exchange& exchange) const {
  if (exchange.unauthenticated.has_value()) return std::move(exchange.unauthenticated);
  // No agent: a public route, or no token while LIVECALL_AUTH=off, when no role is needed.
  const AuthenticatedAgent& caller = exchange.caller;
  const std::vector<Role>& roles = exchange.route().roles;
  if (caller.agent_id.empty() || roles.empty() ||
      std::find(roles.begin(), roles.end(), caller.role) != roles.end()) {
    return std::nullopt;
  }
  return InsufficientRoleResponse(absl::StrCat(
      "the role ", RoleName(caller.role), " may not use this route; it needs ",
      absl::StrJoin(roles, " or ",
                    [](std::string* out, Role role) { out->append(RoleName(role)); })));
}

}  // namespace livecall::gateway
