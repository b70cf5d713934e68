#ifndef LIVECALL_TESTS_FAKES_FAKE_TWILIO_H_
#define LIVECALL_TESTS_FAKES_FAKE_TWILIO_H_

// A fake of Twilio's REST API (2010-04-01) on FakeHttpServer, for unit and integration tests.
//
// Every request is checked against Twilio's official OpenAPI description (data/, cut down from
// twilio/twilio-oai by data/extract_twilio_openapi.py): the path must match a path template and
// its parameters' patterns (a conference friendly name where a CF SID is required fails), the
// method must exist there, the Basic credentials and account must be the configured ones, every
// form field (or query parameter) must be one the operation declares, with the required ones
// present, booleans "true"/"false", integers digits and enums one of their values. A request that
// does not conform is answered 400 with a Twilio error and recorded as a violation, so a test can
// assert that there were none.
//
// It also keeps just enough state to answer like Twilio: calls (CA…), conferences by friendly name
// (CF…), participants with hold/muted. Tests can script errors, 429s and slowness per operation
// ("CreateCall", "UpdateParticipant", … the OpenAPI operationIds).

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/fakes/fake_http_server.h"

namespace livecall::fakes {

struct TwilioApiRequest {
  std::string operation_id;  // "CreateCall", "UpdateParticipant", ...
  std::string method;
  std::string path;  // Without the query.
  std::map<std::string, std::string> path_params;
  // The form body (POST) or the query (GET), decoded, in order.
  std::vector<std::pair<std::string, std::string>> fields;

  // The first value of `name`, or empty.
  std::string Field(const std::string& name) const;
  std::vector<std::string> Fields(const std::string& name) const;
  bool Has(const std::string& name) const;
};

class FakeTwilio {
 public:
  struct Options {
    std::string account_sid = "AC00000000000000000000000000000000";
    // The Basic credentials accepted (API key SID and secret, or account SID and auth token).
    std::string username = "SK00000000000000000000000000000000";
    std::string password = "fake-api-key-secret";
    // Empty: the copy in tests/fakes/data.
    std::string openapi_path;
  };

  FakeTwilio();
  explicit FakeTwilio(Options options);
  ~FakeTwilio();

  // Loads the OpenAPI description and starts the server.
  absl::Status Start();
  void Stop();
  std::string base_url() const;

  // The next `times` requests for `operation_id` get this Twilio error instead of an answer.
  void FailNext(const std::string& operation_id, int http_status, int code, std::string message,
                int times = 1);
  // The next `times` requests for `operation_id` are answered only after `delay`.
  void DelayNext(const std::string& operation_id, absl::Duration delay, int times = 1);

  // The requests that conformed to the OpenAPI description, in arrival order (scripted errors
  // included: they were valid requests).
  std::vector<TwilioApiRequest> Requests() const;
  std::vector<TwilioApiRequest> Requests(const std::string& operation_id) const;
  // One line per request that did not conform; empty when every request did.
  std::vector<std::string> Violations() const;
  // Every request received, conforming or not.
  int total_requests() const;

 private:
  struct Spec;
  struct Script {
    int http_status = 0;
    int code = 0;
    std::string message;
    absl::Duration delay;
    int times = 0;
  };

  FakeResponse Handle(const FakeRequest& request);
  FakeResponse Answer(const TwilioApiRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewSid(const char* prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::unique_ptr<Spec> spec_;
  std::unique_ptr<FakeHttpServer> server_;
  mutable absl::Mutex mu_;
  std::vector<TwilioApiRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> violations_ ABSL_GUARDED_BY(mu_);
  int total_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::vector<Script>> failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<Script>> delays_ ABSL_GUARDED_BY(mu_);
  int next_sid_ ABSL_GUARDED_BY(mu_) = 1;
  // Friendly name -> CF sid, and CF sid -> status.
  std::map<std::string, std::string> conference_by_name_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> conference_status_ ABSL_GUARDED_BY(mu_);
  // Participant call sid -> (hold, muted, label, conference sid).
  struct Participant {
    bool hold = false;
    bool muted = false;
    std::string label;
    std::string conference_sid;
  };
  std::map<std::string, Participant> participants_ ABSL_GUARDED_BY(mu_);
};

// A test Twilio auth token's X-Twilio-Signature for a form POST (the published algorithm,
// written independently of the gateway's so each checks the other).
std::string TwilioTestSignature(const std::string& auth_token, const std::string& url,
                                const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace livecall::fakes

#endif  // LIVECALL_TESTS_FAKES_FAKE_TWILIO_H_
