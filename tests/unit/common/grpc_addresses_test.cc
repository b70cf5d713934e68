// Dial targets and listen addresses (common/config.h): Kubernetes dials dns:///<headless service>
// while each pod listens on LIVECALL_GRPC_LISTEN_ADDR.

#include <map>
#include <string>

#include "common/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/env_reader.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::EnvReaderFor;
using ::livecall::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(GrpcTargetTest, DnsTargetsOfHeadlessServicesAreAccepted) {
  EnvReader env =
      EnvReaderFor({{"LIVECALL_CONTEXT_ADDR", "dns:///context.livecall.svc.cluster.local:50053"},
                    {"LIVECALL_AI_SESSION_ADDR", "ai-session:50052"}});
  ServiceAddresses addresses = ReadServiceAddresses(env);
  EXPECT_EQ(addresses.context, "dns:///context.livecall.svc.cluster.local:50053");
  EXPECT_EQ(addresses.ai_session, "ai-session:50052");
  EXPECT_EQ(addresses.call_control, "127.0.0.1:50051");
  EXPECT_THAT(env.status(), livecall::testing::IsOk());
}

TEST(GrpcTargetTest, MalformedTargetsNameTheVariable) {
  for (const char* bad : {"dns:///context", "http://context:50053", "dns://context:50053",
                          "dns:///context:0", "context"}) {
    SCOPED_TRACE(bad);
    EnvReader env = EnvReaderFor({{"LIVECALL_CONTEXT_ADDR", bad}});
    EXPECT_EQ(ReadServiceAddresses(env).context, "127.0.0.1:50053");
    EXPECT_THAT(env.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       AllOf(HasSubstr("LIVECALL_CONTEXT_ADDR"), HasSubstr(bad))));
  }
}

TEST(GrpcListenAddressTest, WithoutOverrideTheServiceListensOnItsOwnAddress) {
  EnvReader env = EnvReaderFor({});
  EXPECT_EQ(ReadGrpcListenAddress(env, "LIVECALL_CONTEXT_ADDR", "127.0.0.1:50053"),
            "127.0.0.1:50053");
  EXPECT_THAT(env.status(), livecall::testing::IsOk());
}

TEST(GrpcListenAddressTest, OverrideWinsOverTheDialTarget) {
  EnvReader env = EnvReaderFor({{"LIVECALL_GRPC_LISTEN_ADDR", "0.0.0.0:50053"}});
  EXPECT_EQ(ReadGrpcListenAddress(env, "LIVECALL_CONTEXT_ADDR", "dns:///context:50053"),
            "0.0.0.0:50053");
  EXPECT_THAT(env.status(), livecall::testing::IsOk());
}

TEST(GrpcListenAddressTest, DialTargetWithoutOverrideIsAnErrorNamingBothVariables) {
  EnvReader env = EnvReaderFor({});
  ReadGrpcListenAddress(env, "LIVECALL_CONTEXT_ADDR", "dns:///context:50053");
  EXPECT_THAT(env.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     AllOf(HasSubstr("LIVECALL_CONTEXT_ADDR"),
                                           HasSubstr("LIVECALL_GRPC_LISTEN_ADDR"))));
}

TEST(GrpcListenAddressTest, MalformedOverrideIsAnError) {
  EnvReader env = EnvReaderFor({{"LIVECALL_GRPC_LISTEN_ADDR", "dns:///0.0.0.0:50053"}});
  ReadGrpcListenAddress(env, "LIVECALL_CONTEXT_ADDR", "127.0.0.1:50053");
  EXPECT_THAT(env.status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("LIVECALL_GRPC_LISTEN_ADDR")));
}

}  // namespace
}  // namespace livecall
