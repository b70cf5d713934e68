#ifndef LIVECALL_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define LIVECALL_TESTS_SUPPORT_STATUS_MATCHERS_H_

// GoogleTest matchers for absl::Status, absl::StatusOr<T> and grpc::Status, which Abseil 20220623
// does not ship:
//
//   EXPECT_THAT(store.Put(key, value), IsOk());
//   EXPECT_THAT(NormalizePhoneNumber("12"), StatusIs(absl::StatusCode::kInvalidArgument));
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("session")));
//   LIVECALL_ASSERT_OK_AND_ASSIGN(std::string e164, NormalizePhoneNumber("90 111 22 33"));

#include <grpcpp/support/status.h>

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall::testing {
namespace internal_status {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
inline absl::Status GetStatus(const grpc::Status& status) { return ToAbslStatus(status); }

class IsOkMatcher {
 public:
  template <typename T>
  bool MatchAndExplain(const T& value, ::testing::MatchResultListener* listener) const {
    const absl::Status status = GetStatus(value);
    if (!status.ok()) *listener << "which is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* out) const { *out << "is OK"; }
  void DescribeNegationTo(std::ostream* out) const { *out << "is not OK"; }
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code, ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename T>
  bool MatchAndExplain(const T& value, ::testing::MatchResultListener* listener) const {
    const absl::Status status = GetStatus(value);
    *listener << "which is " << status;
    return status.code() == code_ && message_.Matches(std::string(status.message()));
  }
  void DescribeTo(std::ostream* out) const {
    *out << "has code " << absl::StatusCodeToString(code_) << " and a message that ";
    message_.DescribeTo(out);
  }
  void DescribeNegationTo(std::ostream* out) const {
    *out << "does not have code " << absl::StatusCodeToString(code_) << " or has a message that ";
    message_.DescribeNegationTo(out);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

}  // namespace internal_status

// Matches an OK absl::Status, absl::StatusOr<T> or grpc::Status.
inline ::testing::PolymorphicMatcher<internal_status::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(internal_status::IsOkMatcher());
}

// Matches a status with `code` (and a message matching `message`).
template <typename MessageMatcher>
::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(absl::StatusCode code,
                                                                         MessageMatcher message) {
  return ::testing::MakePolymorphicMatcher(internal_status::StatusIsMatcher(
      code, ::testing::MatcherCast<const std::string&>(std::move(message))));
}
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(
    absl::StatusCode code) {
  return StatusIs(code, ::testing::_);
}

// Matches an OK absl::StatusOr<T> whose value matches `value_matcher`; an error fails the
// expectation (naming the status) instead of aborting the test on `->`.
MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace livecall::testing

#define LIVECALL_EXPECT_OK(expr) EXPECT_THAT((expr), ::livecall::testing::IsOk())
#define LIVECALL_ASSERT_OK(expr) ASSERT_THAT((expr), ::livecall::testing::IsOk())

// Asserts that `expr` (an absl::StatusOr<T>) is OK and moves its value into `lhs`.
#define LIVECALL_ASSERT_OK_AND_ASSIGN(lhs, expr)                                                  \
  LIVECALL_ASSERT_OK_AND_ASSIGN_IMPL_(LIVECALL_STATUS_CONCAT_(livecall_test_statusor_, __LINE__), \
                                      lhs, expr)
#define LIVECALL_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                        \
  ASSERT_THAT(statusor.status(), ::livecall::testing::IsOk());   \
  lhs = *std::move(statusor)

#endif  // LIVECALL_TESTS_SUPPORT_STATUS_MATCHERS_H_
