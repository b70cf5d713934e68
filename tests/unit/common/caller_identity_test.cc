#include "common/caller_identity.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

GrpcAuthConfig Read(std::map<std::string, std::string> vars, bool serves, bool dials,
                    absl::Status* status) {
  EnvReader env([vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
  GrpcAuthConfig config = ReadGrpcAuthConfig(env, serves, dials);
  *status = env.status();
  return config;
}

TEST(CallerIdentityTest, AnAgentMayUseOnlyWhatItOwns) {
  const CallerIdentity agent{.peer = "gateway", .agent_id = "agent-1", .role = kRoleAgent};
  EXPECT_TRUE(agent.MayAccess("agent-1"));
  EXPECT_FALSE(agent.MayAccess("agent-2"));
  EXPECT_FALSE(agent.MayAccess(""));  // Nobody's yet is not the agent's.
  const CallerIdentity supervisor{.peer = "gateway", .agent_id = "boss", .role = kRoleSupervisor};
  EXPECT_TRUE(supervisor.MayAccess("agent-2"));
  EXPECT_TRUE(CallerIdentity{}.MayAccess("agent-2"));  // A service acting for itself.
}

TEST(CallerIdentityTest, AnAgentCreatesOnlyForItself) {
  const CallerIdentity agent{.peer = "gateway", .agent_id = "agent-1", .role = kRoleAgent};
  EXPECT_EQ(*agent.OwnerFor(""), "agent-1");
  EXPECT_EQ(*agent.OwnerFor("agent-1"), "agent-1");
  EXPECT_THAT(agent.OwnerFor("agent-2").status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("agent-2")));
  const CallerIdentity supervisor{.peer = "gateway", .agent_id = "boss", .role = kRoleSupervisor};
  EXPECT_EQ(*supervisor.OwnerFor("agent-2"), "agent-2");
  EXPECT_EQ(*supervisor.OwnerFor(""), "boss");
  EXPECT_EQ(*CallerIdentity{}.OwnerFor(""), "");
}

TEST(GrpcAuthConfigTest, KeysAreRequiredWhileAuthIsOn) {
  absl::Status status;
  Read({}, /*serves=*/true, /*dials=*/true, &status);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("LIVECALL_GRPC_API_KEYS")));
  EXPECT_THAT(std::string(status.message()), HasSubstr("LIVECALL_GRPC_API_KEY:"));

  GrpcAuthConfig off = Read({{"LIVECALL_AUTH", "off"}}, true, true, &status);
  EXPECT_THAT(status, IsOk());
  EXPECT_FALSE(off.enabled);

  GrpcAuthConfig on =
      Read({{"LIVECALL_GRPC_API_KEYS", "gateway:0123456789abcdef, call-control:fedcba9876543210"},
            {"LIVECALL_GRPC_API_KEY", "my-own-key-0123456789"}},
           true, true, &status);
  EXPECT_THAT(status, IsOk());
  EXPECT_THAT(on.accepted_keys, ElementsAre(Pair("gateway", "0123456789abcdef"),
                                            Pair("call-control", "fedcba9876543210")));
  EXPECT_EQ(on.client_key, "my-own-key-0123456789");

  // A service that dials nobody needs no key of its own.
  Read({{"LIVECALL_GRPC_API_KEYS", "gateway:0123456789abcdef"}}, true, /*dials=*/false, &status);
  EXPECT_THAT(status, IsOk());
}

TEST(GrpcAuthConfigTest, MalformedKeysAreNamedWithoutEchoingThem) {
  absl::Status status;
  Read({{"LIVECALL_GRPC_API_KEYS", "gateway:short-k3y,nocolon0123456789"},
        {"LIVECALL_GRPC_API_KEY", "tiny-k3y"}},
       true, true, &status);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("entry 1")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("short-k3y")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("nocolon0123456789")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("tiny-k3y")));
}

}  // namespace
}  // namespace livecall
