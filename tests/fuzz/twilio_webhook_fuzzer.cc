// The Twilio webhook's inputs: the request target (SplitTarget), the
// application/x-www-form-urlencoded body and query (ParseQuery, PercentDecode) and the signature
// check (services/gateway/twilio_signature.h), and the body as JSON (JsonObjectToParams, the
// bodySHA256 check). The input is "target\nbody".
//
// Properties: nothing crashes; a decoded form signed with the right token verifies; the same
// signature with one character changed, or for another URL, does not; a body verifies against
// its own bodySHA256 and not with a byte added.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/gateway/transcoder.h"
#include "services/gateway/twilio_signature.h"
#include "services/gateway/url.h"

namespace gw = livecall::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::string_view target = input;
  absl::string_view body;
  if (const size_t newline = input.find('\n'); newline != absl::string_view::npos) {
    target = input.substr(0, newline);
    body = input.substr(newline + 1);
  }
  const gw::RequestTarget parts = gw::SplitTarget(target);
  if (parts.path.size() + parts.query.size() > target.size()) abort();
  (void)gw::PercentDecode(parts.path, /*plus_is_space=*/false);
  (void)gw::ParseQuery(parts.query);
  absl::StatusOr<gw::FormParams> form = gw::ParseQuery(body);

  constexpr absl::string_view kToken = "12345678901234567890123456789012";
  // The body as JSON (bodySHA256 webhooks): parsed without harm; its hash in the signed URL
  // verifies it, and one more byte does not.
  (void)gw::JsonObjectToParams(body);
  const std::string hashed_url =
      absl::StrCat("https://live.example.com", parts.path, "?bodySHA256=", gw::Sha256Hex(body));
  const std::string url_signature = gw::ComputeTwilioSignature(kToken, hashed_url, {});
  if (!gw::ValidateTwilioBodySignature(kToken, hashed_url, body, gw::Sha256Hex(body),
                                       url_signature)) {
    abort();
  }
  if (gw::ValidateTwilioBodySignature(kToken, hashed_url, absl::StrCat(body, "x"),
                                      gw::Sha256Hex(body), url_signature)) {
    abort();
  }
  if (!form.ok()) return 0;

  const std::string url = absl::StrCat("https://live.example.com", target);
  std::string signature = gw::ComputeTwilioSignature(kToken, url, *form);
  if (!gw::ValidateTwilioSignature(kToken, url, *form, signature)) abort();
  (void)gw::TwilioUrlVariants(url);
  if (gw::ValidateTwilioSignature(kToken, absl::StrCat(url, "x"), *form, signature)) abort();
  signature[size % signature.size()] ^= 0x01;
  if (gw::ValidateTwilioSignature(kToken, url, *form, signature)) abort();
  // The raw input as a signature and as a URL: rejected without harm.
  (void)gw::ValidateTwilioSignature(kToken, url, *form, input);
  (void)gw::TwilioUrlVariants(input);
  return 0;
}
