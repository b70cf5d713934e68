#ifndef LIVECALL_SERVICES_GATEWAY_TWILIO_SIGNATURE_H_
#define LIVECALL_SERVICES_GATEWAY_TWILIO_SIGNATURE_H_

// X-Twilio-Signature, as Twilio's helper libraries compute and check it (DIGEST.md §2): the full
// URL Twilio requested (scheme, host, port, path, query), then every POST parameter sorted by
// name (byte order; a repeated name contributes each value, de-duplicated and sorted) as
// name+value, HMAC-SHA1 with the account's auth token, standard base64.
//
// Behind an ingress the gateway does not see the URL Twilio used, so the URL is rebuilt from the
// configured public base URL (LIVECALL_PUBLIC_URL) and the request target. Like the helper
// libraries, validation accepts the URL as given, without its port, and with the scheme's
// default port added, since Twilio is inconsistent about default ports.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall::gateway {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// base64(HMAC-SHA1(auth_token, url + sorted name/value pairs)).
std::string ComputeTwilioSignature(absl::string_view auth_token, absl::string_view url,
                                   const FormParams& params);

// True when `signature` matches `url` (or its port variants) and `params`; constant-time compare.
// False for an empty token or signature.
bool ValidateTwilioSignature(absl::string_view auth_token, absl::string_view url,
                             const FormParams& params, absl::string_view signature);

// Webhooks with a JSON body (DIGEST.md §2.4): Twilio adds `bodySHA256=<hex SHA-256 of the body>`
// to the URL's query and signs the full URL alone, with no parameters appended. True when
// `signature` matches `url` (or its port variants) with no parameters and the body hashes to
// `body_sha256` (hex, either case); both compared in constant time.
bool ValidateTwilioBodySignature(absl::string_view auth_token, absl::string_view url,
                                 absl::string_view body, absl::string_view body_sha256,
                                 absl::string_view signature);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// `url` with an explicit default port removed ("https://h:443/p" -> "https://h/p") and with the
// default port added when none is given; the forms validation accepts besides `url` itself.
std::vector<std::string> TwilioUrlVariants(absl::string_view url);

// The `Timestamp` field some webhooks carry (status and conference callbacks: RFC 2822,
// "Tue, 26 Nov 2026 11:46:32 +0000"; others RFC 3339). INVALID_ARGUMENT when it is neither.
absl::StatusOr<absl::Time> ParseTwilioTimestamp(absl::string_view text);

// Replay protection for a signed webhook: OK when `params` has no Timestamp, or one within
// `window` of `now` (either way, for clock skew); PERMISSION_DENIED outside it, and for a
// Timestamp that is not a date in one of Twilio's formats (it cannot be shown to be fresh). A
// window of zero turns the check off.
absl::Status CheckTwilioReplayWindow(const FormParams& params, absl::Time now,
                                     absl::Duration window);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_TWILIO_SIGNATURE_H_
