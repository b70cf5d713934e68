// Every process drains and exits 0 on SIGTERM, also with work in flight (sessions stored, sandbox
// calls with timers pending), as Kubernetes expects of a pod being replaced.

#include "gtest/gtest.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/status_matchers.h"

namespace livecall::testing {
namespace {

class ShutdownTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options = IntegrationSuiteOptions();
    // Timers still pending when SIGTERM arrives.
    options.sandbox_ring = absl::Seconds(5);
    options.sandbox_answer = absl::Seconds(5);
    options.sandbox_talk = absl::Seconds(5);
    StartSuite(options);
  }
  static void TearDownTestSuite() { StopSuite(); }
};

TEST_F(ShutdownTest, GracefulShutdownExitsZero) {
  livecall::v1::Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998901112233", &session));
  livecall::v1::Call call;
  ASSERT_NO_FATAL_FAILURE(PlaceCall("+998901112233", "Salom", &call));

  // The gateway first, then each gRPC service, then Redis; each must exit 0 within 15 s.
  for (Service service :
       {Service::kGateway, Service::kCallControl, Service::kAiSession, Service::kContext}) {
    SCOPED_TRACE(std::string(ServiceName(service)));
    EXPECT_THAT(suite().StopService(service), IsOk());
  }
  EXPECT_THAT(suite().redis().Stop(), IsOk());
}

}  // namespace
}  // namespace livecall::testing
