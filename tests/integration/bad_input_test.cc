// Bad input gets a clear 4xx with the JSON error body, and never takes a process down: after
// every case each process still runs and the gateway still answers /healthz.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/suite_test.h"

namespace livecall::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

class BadInputTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() { StartSuite(IntegrationSuiteOptions()); }
  static void TearDownTestSuite() { StopSuite(); }

  void TearDown() override {
    ExpectSuiteHealthy();
    SuiteTest::TearDown();
  }
};

TEST_F(BadInputTest, MalformedJsonIs400) {
  for (const std::string body :
       {R"({"phoneNumber":)", "not json", R"({"phoneNumber":"+998901112233")", "[1,2]",
        R"({"phoneNumber":["+998901112233"]})"}) {
    SCOPED_TRACE(body);
    ExpectErrorResponse(Post("/ai/call/start", body), 400, "INVALID_ARGUMENT");
  }
}

TEST_F(BadInputTest, MissingPhoneIs400) {
  ExpectErrorResponse(Post("/ai/call/start", "{}"), 400, "INVALID_ARGUMENT");
  ExpectErrorResponse(Post("/api/ai/call/start", R"({"phoneNumber":""})"), 400, "INVALID_ARGUMENT");
}

TEST_F(BadInputTest, EmptyBodyIs400) {
  ExpectErrorResponse(Post("/ai/call/start", ""), 400, "INVALID_ARGUMENT");
}

TEST_F(BadInputTest, InvalidPhoneIs400) {
  for (const std::string phone : {"12345", "not a phone", "+998", "+99890111223344556677"}) {
    SCOPED_TRACE(phone);
    ExpectErrorResponse(Post("/ai/call/start", R"({"phoneNumber":")" + phone + R"("})"), 400,
                        "INVALID_ARGUMENT");
  }
}

TEST_F(BadInputTest, UnknownJsonFieldIs400) {
  HttpResponse response =
      Post("/ai/call/start", R"({"phoneNumber":"+998901112233","phoneNumbr":"+998901112233"})");
  ExpectErrorResponse(response, 400, "INVALID_ARGUMENT");
}

TEST_F(BadInputTest, UnsupportedLanguageIs400) {
  ExpectErrorResponse(Post("/ai/call/start", R"({"phoneNumber":"+998901112233","language":"de"})"),
                      400, "INVALID_ARGUMENT");
}

TEST_F(BadInputTest, VoipCallWithoutValidToIs400) {
  ExpectErrorResponse(Post("/api/voip/call", R"({"text":"Salom"})"), 400, "INVALID_ARGUMENT");
  ExpectErrorResponse(Post("/voip/call", R"({"to":"12345","text":"Salom"})"), 400,
                      "INVALID_ARGUMENT");
}

TEST_F(BadInputTest, VoipCallWithEmptyTextIs400) {
  ExpectErrorResponse(Post("/api/voip/call", R"({"to":"+998901112233","text":""})"), 400,
                      "INVALID_ARGUMENT");
  ExpectErrorResponse(Post("/voip/call", R"({"to":"+998901112233"})"), 400, "INVALID_ARGUMENT");
}

TEST_F(BadInputTest, InvalidCustomerPhoneIs400) {
  ExpectErrorResponse(Get("/api/customers/not-a-phone"), 400, "INVALID_ARGUMENT");
}

TEST_F(BadInputTest, UnknownRouteIs404) {
  ExpectErrorResponse(Get("/no/such/route"), 404, "NOT_FOUND");
  ExpectErrorResponse(Post("/api/ai/call/begin", R"({"phoneNumber":"+998901112233"})"), 404,
                      "NOT_FOUND");
  ExpectErrorResponse(Get("/ai/sessions/a/b"), 404, "NOT_FOUND");
}

TEST_F(BadInputTest, WrongMethodIs405WithAllow) {
  HttpResponse response = Get("/ai/call/start");
  ExpectErrorResponse(response, 405, "METHOD_NOT_ALLOWED");
  EXPECT_THAT(response.headers["allow"], HasSubstr("POST")) << response;

  response =
      HttpRequest("DELETE", suite().base_url() + "/api/calls/CA00000000000000000000000000000000");
  ExpectErrorResponse(response, 405, "METHOD_NOT_ALLOWED");
  EXPECT_THAT(response.headers["allow"], HasSubstr("GET")) << response;
}

TEST_F(BadInputTest, BodyOverLimitIs413) {
  // Valid JSON padded with white space, so only its size is wrong (the limit is 65536 bytes).
  std::string body = R"({"phoneNumber":"+998901112233")" + std::string(70000, ' ') + "}";
  ExpectErrorResponse(Post("/ai/call/start", body), 413, "PAYLOAD_TOO_LARGE");
}

TEST_F(BadInputTest, BodyJustUnderLimitIsAccepted) {
  std::string body = R"({"phoneNumber":"+998901112233")" + std::string(60000, ' ') + "}";
  HttpResponse response = Post("/ai/call/start", body);
  EXPECT_EQ(response.status, 200) << response;
}

TEST_F(BadInputTest, MarkupControlCharactersAndUnicodeInTextAreHarmless) {
  // Accepted or refused with a 4xx; the processes' survival is checked after every test.
  HttpResponse response =
      Post("/api/voip/call",
           R"({"to":"+998901112233","text":"<Say>\"quoted\"</Say>\u0000\n\t Привет 👋 &amp;"})");
  EXPECT_THAT(response.status, AnyOf(Eq(200), Eq(400))) << response;
}

}  // namespace
}  // namespace livecall::testing
