// ai-session's configuration from the environment: the threads that answer its RPCs.

#include "services/ai-session/ai_session_config.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/env_reader.h"
#include "tests/support/status_matchers.h"

namespace livecall::ai_session {
namespace {

using ::livecall::testing::EnvReaderFor;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;

absl::StatusOr<AiSessionConfig> Read(std::map<std::string, std::string> vars) {
  vars.emplace("LIVECALL_AUTH", "off");
  EnvReader env = EnvReaderFor(std::move(vars));
  return ReadAiSessionConfig(env);
}

// One polling thread unless told otherwise: threads polling one process's sockets hand events to
// each other (services/ai-session/README.md, "Threads").
TEST(AiSessionConfigTest, RpcsAreAnsweredFromOneThreadUnlessTold) {
  absl::StatusOr<AiSessionConfig> config = Read({});
  ASSERT_THAT(config.status(), IsOk());
  EXPECT_EQ(config->grpc_threads, 1);
  config = Read({{"LIVECALL_GRPC_THREADS", "4"}});
  ASSERT_THAT(config.status(), IsOk());
  EXPECT_EQ(config->grpc_threads, 4);
}

TEST(AiSessionConfigTest, ThreadCountsOutsideOneTo64AreRefused) {
  for (const char* bad : {"0", "65", "two"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(Read({{"LIVECALL_GRPC_THREADS", bad}}).status(),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace livecall::ai_session
