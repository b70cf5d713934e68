#ifndef LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_CLIENT_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_CLIENT_H_

// Twilio's REST API (2010-04-01) over common's HttpClient: form-encoded requests, HTTP Basic auth
// with the API key (or the account SID and auth token), a timeout per attempt, and Twilio's error
// JSON ({"code":21211,"message":…,"more_info":…,"status":400}) turned into a status whose message
// keeps Twilio's code and message ("twilio error 21211: …").
//
// Retries: bounded, exponential backoff with full jitter (what twilio-node's autoRetry does).
// Requests that are safe to repeat (updates, deletes, reads) are retried on 429 and 5xx. Creates
// dial a phone, so they are retried only on 429, which Twilio documents as never processed.
//
// Blocking: call from a worker thread (common/executor.h), never from an I/O thread.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http_client.h"

namespace livecall::call_control {

// Form fields in order; a name may repeat (StatusCallbackEvent=initiated&StatusCallbackEvent=…).
using FormFields = std::vector<std::pair<std::string, std::string>>;

// Percent-encodes all but RFC 3986's unreserved characters.
std::string PercentEncode(absl::string_view text);
// application/x-www-form-urlencoded: each name and value percent-encoded.
std::string FormEncode(const FormFields& fields);

struct TwilioClientOptions {
  std::string base_url = "https://api.twilio.com";  // TWILIO_API_BASE_URL
  std::string account_sid;                          // In every path.
  // Basic auth: the API key SID and secret, or the account SID and auth token.
  std::string username;
  std::string password;
  absl::Duration timeout = absl::Seconds(10);  // Per attempt.
  absl::Duration connect_timeout = absl::Seconds(3);
  int max_retries = 3;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(3);
};

// The fields of Twilio's answers that Livecall reads.
struct TwilioCall {
  std::string sid;
  std::string status;
};
struct TwilioParticipant {
  std::string call_sid;
  std::string conference_sid;
  std::string label;
  bool hold = false;
  bool muted = false;
  std::string status;
};

class TwilioClient {
 public:
  // `http` must outlive the client.
  TwilioClient(HttpClient& http, TwilioClientOptions options);

  // POST Calls.json (not retried but on 429).
  absl::StatusOr<TwilioCall> CreateCall(const FormFields& fields);
  // POST Calls/{sid}.json.
  absl::StatusOr<TwilioCall> UpdateCall(absl::string_view call_sid, const FormFields& fields);
  // POST Conferences/{conference}/Participants.json; `conference` may be the friendly name.
  // `deadline` bounds every attempt and retry (a webhook waiting for it has Twilio's 15 s).
  absl::StatusOr<TwilioParticipant> CreateParticipant(absl::string_view conference,
                                                      const FormFields& fields,
                                                      absl::Time deadline = absl::InfiniteFuture());
  // POST Conferences/{CF…}/Participants/{call sid}.json.
  absl::StatusOr<TwilioParticipant> UpdateParticipant(absl::string_view conference_sid,
                                                      absl::string_view call_sid,
                                                      const FormFields& fields);
  // DELETE Conferences/{CF…}/Participants/{call sid}.json.
  absl::Status DeleteParticipant(absl::string_view conference_sid, absl::string_view call_sid);
  // POST Conferences/{CF…}.json.
  absl::Status UpdateConference(absl::string_view conference_sid, const FormFields& fields);
  // GET Conferences.json?FriendlyName=…&Status=in-progress: the SID, or nullopt when none.
  absl::StatusOr<std::optional<std::string>> FindConference(absl::string_view friendly_name);

 private:
  enum class Retry { kSafe, kOnlyTooManyRequests };
  // The response body of a 2xx answer.
  // No attempt runs past `deadline` (DEADLINE_EXCEEDED once it has passed).
  absl::StatusOr<std::string> Send(absl::string_view method, absl::string_view path,
                                   const FormFields& fields, Retry retry,
                                   absl::Time deadline = absl::InfiniteFuture());

  HttpClient& http_;
  const TwilioClientOptions options_;
};

// Twilio's error answer as a status: the HTTP status picks the code (400 INVALID_ARGUMENT,
// 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 5xx UNAVAILABLE, 401/403 INTERNAL: our credentials are
// wrong, not the caller's; error 21220 "invalid call state" FAILED_PRECONDITION); the message
// keeps Twilio's code, message and more_info.
absl::Status TwilioErrorStatus(long http_status, absl::string_view body);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWILIO_CLIENT_H_
