#ifndef LIVECALL_TESTS_SUPPORT_PROTO_MATCHERS_H_
#define LIVECALL_TESTS_SUPPORT_PROTO_MATCHERS_H_

// EXPECT_THAT(actual_session, EqualsProto(expected_session)): field-by-field equality of two
// messages of the same type, explaining the first differences when they are not equal.

#include <google/protobuf/message.h>
#include <google/protobuf/util/message_differencer.h>

#include <string>

#include "gmock/gmock.h"

namespace livecall::testing {

MATCHER_P(EqualsProto, expected, "equals " + expected.ShortDebugString()) {
  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "which differs: " << differences;
  return false;
}

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_PROTO_MATCHERS_H_
