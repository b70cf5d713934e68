#include "services/context/customer_source.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/context/context_service.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"

namespace livecall::context {
namespace {

using ::livecall::fakes::FakeHttpServer;
using ::livecall::fakes::FakeRequest;
using ::livecall::fakes::FakeResponse;
using ::livecall::testing::IsOk;
using ::livecall::testing::IsOkAndHolds;
using ::livecall::testing::StatusIs;
using ::testing::_;
using ::testing::Not;
using ::testing::Optional;

constexpr char kCrmCustomer[] = R"({"id": 9912, "name": "Dilshod Karimov", "language": "uz",
  "attributes": {"plan": "fibre 100"}, "notes": ["VIP"], "segment": "gold"})";

class CustomerSourceTest : public livecall::testing::RedisFixture {
 protected:
  static void SetUpTestSuite() { CurlGlobalInit(); }

  // A CRM whose answer the test changes as it goes.
  void StartCrm() {
    crm_ = std::make_unique<FakeHttpServer>([this](const FakeRequest& request) {
      absl::MutexLock lock(&mu_);
      return crm_answer_;
    });
    ASSERT_THAT(crm_->Start(), IsOk());
  }
  void CrmAnswers(FakeResponse response) {
    absl::MutexLock lock(&mu_);
    crm_answer_ = std::move(response);
  }
  // The timeout is generous: the fake CRM answers at once, but a loaded machine may take a
  // while to schedule it. Tests of the timeout pass a short one and a slower CRM.
  CrmOptions Options(absl::Duration timeout = absl::Seconds(10)) {
    return {.lookup_url_template = crm_->base_url() + "/customers?phone={phone}",
            .api_key = "crm-key",
            .timeout = timeout};
  }

  CurlHttpClient http_;
  std::unique_ptr<FakeHttpServer> crm_;
  absl::Mutex mu_;
  FakeResponse crm_answer_ ABSL_GUARDED_BY(mu_);
};

TEST_F(CustomerSourceTest, CrmAnswerIsMappedToTheCustomer) {
  StartCrm();
  CrmAnswers({.chunks = {kCrmCustomer}});
  CrmSource crm(http_, Options());
  absl::StatusOr<std::optional<livecall::v1::Customer>> customer = crm.Find("+998901112233");
  ASSERT_THAT(customer.status(), IsOk());
  ASSERT_TRUE(customer->has_value());
  EXPECT_EQ((*customer)->name(), "Dilshod Karimov");
  EXPECT_EQ((*customer)->source(), "crm");
  EXPECT_EQ((*customer)->attributes().at("plan"), "fibre 100");
  EXPECT_EQ((*customer)->phone_number(), "+998901112233");
  const FakeRequest request = crm_->requests().at(0);
  EXPECT_EQ(request.target, "/customers?phone=%2B998901112233");
  EXPECT_EQ(request.headers.at("authorization"), "Bearer crm-key");
}

TEST_F(CustomerSourceTest, CrmNotFoundIsNoCustomerAndErrorsAreUnavailable) {
  StartCrm();
  CrmSource crm(http_, Options());
  CrmAnswers({.status = 404, .chunks = {"{}"}});
  EXPECT_THAT(crm.Find("+998901112233"), IsOkAndHolds(Not(Optional(_))));
  CrmAnswers({.status = 500, .chunks = {"oops"}});
  EXPECT_THAT(crm.Find("+998901112233").status(), StatusIs(absl::StatusCode::kUnavailable));
  CrmAnswers({.chunks = {"[1,2,3]"}});
  EXPECT_THAT(crm.Find("+998901112233").status(), StatusIs(absl::StatusCode::kUnavailable));
  CrmAnswers({.chunks = {kCrmCustomer}, .delay_before_headers = absl::Seconds(1)});
  CrmSource impatient(http_, Options(absl::Milliseconds(300)));
  EXPECT_THAT(impatient.Find("+998901112233").status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(CustomerSourceTest, FreshCopiesComeFromRedisWithoutAskingTheCrm) {
  StartCrm();
  CrmAnswers({.chunks = {kCrmCustomer}});
  CrmSource crm(http_, Options());
  CachedSource cached(crm, *redis_, absl::Minutes(5), absl::Hours(1));
  ASSERT_THAT(cached.Find("+998901112233"), IsOkAndHolds(Optional(_)));
  ASSERT_THAT(cached.Find("+998901112233"), IsOkAndHolds(Optional(_)));
  EXPECT_EQ(crm_->requests().size(), 1u);
  absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", CrmCacheKey("+998901112233")});
  EXPECT_GT((*ttl)->integer, 3500);
}

TEST_F(CustomerSourceTest, ACrmOutageServesTheLastCopyMarkedStale) {
  StartCrm();
  CrmAnswers({.chunks = {kCrmCustomer}});
  CrmSource crm(http_, Options());
  // fresh_for zero: every lookup asks the CRM first.
  CachedSource cached(crm, *redis_, absl::ZeroDuration(), absl::Hours(1));
  absl::StatusOr<std::optional<livecall::v1::Customer>> fresh = cached.Find("+998901112233");
  ASSERT_THAT(fresh, IsOkAndHolds(Optional(_)));
  ASSERT_FALSE((*fresh)->stale());
  CrmAnswers({.status = 503, .chunks = {"down"}});
  absl::StatusOr<std::optional<livecall::v1::Customer>> stale = cached.Find("+998901112233");
  ASSERT_THAT(stale.status(), IsOk());
  ASSERT_TRUE(stale->has_value());
  EXPECT_TRUE((*stale)->stale());
  EXPECT_EQ((*stale)->name(), "Dilshod Karimov");
  EXPECT_GT((*stale)->cached_at().seconds(), 0);
}

TEST_F(CustomerSourceTest, ACrmOutageWithNoCopyIsAnEmptyContextNotAFailedCall) {
  StartCrm();
  CrmAnswers({.status = 503, .chunks = {"down"}});
  CrmSource crm(http_, Options());
  CachedSource cached(crm, *redis_, absl::Minutes(5), absl::Hours(1));
  EXPECT_THAT(cached.Find("+998901112233").status(), StatusIs(absl::StatusCode::kUnavailable));
  SessionStore sessions(*redis_, absl::Hours(1));
  QueuedUnaryMethods unary({.threads = 1});
  ContextService service(cached, sessions, unary);
  absl::StatusOr<livecall::v1::Customer> customer = service.Lookup("+998901112233");
  ASSERT_THAT(customer.status(), IsOk());
  EXPECT_FALSE(customer->known());
  EXPECT_EQ(customer->language(), "uz");
}

TEST_F(CustomerSourceTest, AnUnknownNumberIsCachedToo) {
  StartCrm();
  CrmAnswers({.status = 404, .chunks = {"{}"}});
  CrmSource crm(http_, Options());
  CachedSource cached(crm, *redis_, absl::Minutes(5), absl::Hours(1));
  EXPECT_THAT(cached.Find("+998712345678"), IsOkAndHolds(Not(Optional(_))));
  EXPECT_THAT(cached.Find("+998712345678"), IsOkAndHolds(Not(Optional(_))));
  EXPECT_EQ(crm_->requests().size(), 1u);
}

}  // namespace
}  // namespace livecall::context
