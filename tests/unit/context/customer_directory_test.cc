#include "services/context/customer_directory.h"

#include <google/protobuf/text_format.h>

#include "common/default_data_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::context {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

livecall::v1::CustomerRecordList Records(const std::string& text) {
  livecall::v1::CustomerRecordList list;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &list));
  return list;
}

TEST(CustomerDirectoryTest, FindsARecordByTheE164FormOfItsPhone) {
  absl::StatusOr<CustomerDirectory> directory = CustomerDirectory::FromRecords(Records(R"pb(
    records {
      phone: "90 111 22 33"
      name: "Dilshod Karimov"
      language: "uz"
      attributes { key: "plan" value: "fibre" }
      notes: "prefers evenings"
    }
  )pb"));
  ASSERT_THAT(directory.status(), IsOk());
  std::optional<livecall::v1::Customer> customer = directory->Find("+998901112233");
  ASSERT_TRUE(customer.has_value());
  EXPECT_EQ(customer->name(), "Dilshod Karimov");
  EXPECT_EQ(customer->phone_number(), "+998901112233");
  EXPECT_TRUE(customer->known());
  EXPECT_EQ(customer->source(), "directory");
  EXPECT_EQ(customer->attributes().at("plan"), "fibre");
  EXPECT_FALSE(directory->Find("+998901112234").has_value());
}

TEST(CustomerDirectoryTest, MissingLanguageFollowsTheNumbersCountry) {
  absl::StatusOr<CustomerDirectory> directory = CustomerDirectory::FromRecords(Records(R"pb(
    records { phone: "+998901112233" name: "A" }
    records { phone: "+74951234567" name: "B" }
  )pb"));
  ASSERT_THAT(directory.status(), IsOk());
  EXPECT_EQ(directory->Find("+998901112233")->language(), "uz");
  EXPECT_EQ(directory->Find("+74951234567")->language(), "ru");
}

TEST(CustomerDirectoryTest, InvalidPhoneNamesTheRecord) {
  EXPECT_THAT(CustomerDirectory::FromRecords(Records(R"pb(
                records { phone: "+998901112233" }
                records { phone: "12" }
              )pb")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("customer #2")));
}

TEST(CustomerDirectoryTest, DuplicateNumbersInAnySpellingAreRejected) {
  EXPECT_THAT(CustomerDirectory::FromRecords(Records(R"pb(
                records { phone: "+998901112233" }
                records { phone: "90 111 22 33" }
              )pb")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
}

TEST(CustomerDirectoryTest, UnsupportedLanguageIsRejected) {
  EXPECT_THAT(CustomerDirectory::FromRecords(Records(R"pb(
                records { phone: "+998901112233" language: "de" }
              )pb")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"de\"")));
}

TEST(CustomerDirectoryTest, TheShippedSampleFileLoads) {
  absl::StatusOr<CustomerDirectory> directory =
      CustomerDirectory::Load(LIVECALL_DEFAULT_DATA_DIR "/customers.json");
  ASSERT_THAT(directory.status(), IsOk());
  EXPECT_GE(directory->size(), 3u);
  EXPECT_EQ(directory->Find("+998901112233")->name(), "Dilshod Karimov");
}

TEST(CustomerDirectoryTest, AMissingFileOrAnUnknownFieldIsAStartupError) {
  EXPECT_THAT(CustomerDirectory::Load("/nonexistent/customers.json"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace livecall::context
