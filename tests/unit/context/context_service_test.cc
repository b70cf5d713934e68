#include "services/context/context_service.h"

#include <google/protobuf/text_format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::context {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;

class ContextLookupTest : public ::testing::Test {
 protected:
  ContextLookupTest() {
    livecall::v1::CustomerRecordList list;
    google::protobuf::TextFormat::ParseFromString(
        R"pb(records { phone: "+998901112233" name: "Dilshod Karimov" language: "uz" })pb", &list);
    directory_ = *CustomerDirectory::FromRecords(list);
  }

  CustomerDirectory directory_;
  DirectorySource source_{directory_};
  // Lookups never touch Redis or the executor; the pool is never connected.
  RedisPool redis_{RedisPool::Options{}};
  SessionStore sessions_{redis_, absl::Hours(1)};
  Executor executor_{1};
  ContextService service_{source_, sessions_, executor_};
};

TEST_F(ContextLookupTest, KnownCustomerIsFoundFromAnySpelling) {
  for (const char* spelling : {"+998901112233", "90 111 22 33", "+998 90 111-22-33"}) {
    absl::StatusOr<livecall::v1::Customer> customer = service_.Lookup(spelling);
    ASSERT_THAT(customer.status(), IsOk());
    EXPECT_EQ(customer->name(), "Dilshod Karimov") << spelling;
    EXPECT_TRUE(customer->known());
  }
}

TEST_F(ContextLookupTest, UnknownCallerIsAnEmptyContextInTheCountrysLanguage) {
  absl::StatusOr<livecall::v1::Customer> customer = service_.Lookup("+998 71 234 56 78");
  ASSERT_THAT(customer.status(), IsOk());
  EXPECT_FALSE(customer->known());
  EXPECT_EQ(customer->source(), "none");
  EXPECT_EQ(customer->phone_number(), "+998712345678");
  EXPECT_EQ(customer->language(), "uz");
  EXPECT_EQ(service_.Lookup("+7 495 123 45 67")->language(), "ru");
  EXPECT_EQ(service_.Lookup("+44 20 7946 0958")->language(), "en");
}

TEST_F(ContextLookupTest, InvalidNumberIsInvalidArgument) {
  EXPECT_THAT(service_.Lookup("not a phone"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_.Lookup(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace livecall::context
