#include "common/config.h"

#include <map>
#include <string>

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

TEST(EnvReaderTest, UnsetVariablesTakeTheirDefaults) {
  EnvReader env = EnvReaderFor({});
  EXPECT_EQ(env.String("LIVECALL_X", "dflt"), "dflt");
  EXPECT_EQ(env.Int("LIVECALL_N", 7, 1, 10), 7);
  ServiceAddresses addresses = ReadServiceAddresses(env);
  EXPECT_EQ(addresses.call_control, "127.0.0.1:50051");
  EXPECT_EQ(addresses.ai_session, "127.0.0.1:50052");
  EXPECT_EQ(addresses.context, "127.0.0.1:50053");
  EXPECT_TRUE(env.status().ok());
}

TEST(EnvReaderTest, SetVariablesOverrideDefaults) {
  EnvReader env = EnvReaderFor({{"LIVECALL_N", "9"}, {"LIVECALL_CONTEXT_ADDR", "context:7000"}});
  EXPECT_EQ(env.Int("LIVECALL_N", 7, 1, 10), 9);
  EXPECT_EQ(ReadServiceAddresses(env).context, "context:7000");
  EXPECT_TRUE(env.status().ok());
}

TEST(EnvReaderTest, EveryBadVariableIsNamedInOneError) {
  EnvReader env = EnvReaderFor(
      {{"LIVECALL_N", "ten"}, {"LIVECALL_M", "99"}, {"LIVECALL_CONTEXT_ADDR", "no-port"}});
  env.Int("LIVECALL_N", 1, 1, 10);
  env.Int("LIVECALL_M", 1, 1, 10);
  ReadServiceAddresses(env);
  EXPECT_THAT(env.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     AllOf(HasSubstr("LIVECALL_N"), HasSubstr("not an integer"),
                                           HasSubstr("LIVECALL_M"), HasSubstr("outside 1..10"),
                                           HasSubstr("LIVECALL_CONTEXT_ADDR"))));
}

TEST(SplitHostPortTest, AcceptsNamesIpv4AndBracketedIpv6) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(SplitHostPort("0.0.0.0:8080", &host, &port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(SplitHostPort("[::1]:50051", &host, &port));
  EXPECT_EQ(host, "::1");
  ASSERT_TRUE(SplitHostPort("context.livecall.svc:50053", &host, &port));
  EXPECT_EQ(host, "context.livecall.svc");
}

TEST(SplitHostPortTest, RejectsMissingOrBadPorts) {
  std::string host;
  uint16_t port = 0;
  for (const char* bad : {"localhost", ":8080", "host:0", "host:70000", "host:http", "::1:80"}) {
    EXPECT_FALSE(SplitHostPort(bad, &host, &port)) << bad;
  }
}

}  // namespace
}  // namespace livecall
