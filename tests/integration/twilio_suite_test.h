#ifndef LIVECALL_TESTS_INTEGRATION_TWILIO_SUITE_TEST_H_
#define LIVECALL_TESTS_INTEGRATION_TWILIO_SUITE_TEST_H_

// The base of the integration fixtures that run the suite against Twilio: call-control's Twilio
// provider talks to a FakeTwilio started for the fixture, and tests send webhooks signed as Twilio
// signs them.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/fakes/fake_twilio.h"
#include "tests/integration/suite_test.h"

namespace livecall::testing {

class TwilioSuiteTest : public SuiteTest {
 public:
  static constexpr char kAuthToken[] = "integration-auth-token";
  static constexpr char kPublicUrl[] = "https://livecall.example.com";
  static constexpr char kApiKeySecret[] = "fake-api-key-secret";

 protected:
  using Form = std::vector<std::pair<std::string, std::string>>;

  // Starts a FakeTwilio, then the suite with the TWILIO_* variables pointing at it and
  // LIVECALL_PUBLIC_URL = kPublicUrl, `extra_env` on top. A FakeTwilio that did not start leaves
  // the suite pointed at a port nothing answers on (and the tests fail on what they ask of it).
  static void StartTwilioSuite(const std::map<std::string, std::string>& extra_env);
  static void TearDownTestSuite();

  // Fails the test when FakeTwilio saw a request real Twilio would have refused.
  void TearDown() override;

  // A webhook as Twilio sends it: form-encoded and signed for kPublicUrl + `target`.
  // `signature_override`: an X-Twilio-Signature to send instead, or "-" to send none.
  static HttpResponse Webhook(const std::string& target, const Form& form,
                              const std::string& signature_override = "");

  static inline fakes::FakeTwilio* twilio_ = nullptr;
};

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_INTEGRATION_TWILIO_SUITE_TEST_H_
