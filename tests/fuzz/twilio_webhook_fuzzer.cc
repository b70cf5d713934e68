// The Twilio webhook's inputs: the request target (SplitTarget), the
// application/x-www-form-urlencoded body and query (ParseQuery, PercentDecode) and the signature
// check (services/gateway/twilio_signature.h). The input is "target\nbody".
//
// Properties: nothing crashes; a decoded form signed with the right token verifies; the same
// signature with one character changed, or for another URL, does not.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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
  if (!form.ok()) return 0;

  constexpr absl::string_view kToken = "12345678901234567890123456789012";
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
