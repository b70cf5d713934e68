#ifndef LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWIML_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWIML_H_

// The one writer of TwiML. Every attribute value and every text is escaped here, so a customer's
// name or TTS text holding `<`, `&` or quotes can never become a verb; what XML 1.0 cannot carry
// (control characters other than tab and newlines, invalid UTF-8, U+FFFE/U+FFFF) is dropped. The
// output matches what Twilio's helper libraries write (vectors.json: twimlSayEscaped,
// twimlConference, ...).

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace livecall::call_control {

struct TwimlElement {
  std::string name;
  // In order, as written.
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;
  std::vector<TwimlElement> children;

  TwimlElement& Attr(absl::string_view key, absl::string_view value) {
    attributes.emplace_back(key, value);
    return *this;
  }
  TwimlElement& Add(TwimlElement child) {
    children.push_back(std::move(child));
    return children.back();
  }
};

inline TwimlElement Verb(absl::string_view name, absl::string_view text = "") {
  return TwimlElement{.name = std::string(name), .text = std::string(text)};
}

// Text content: & < > escaped.
std::string XmlEscapeText(absl::string_view text);
// Attribute values: & < > " escaped (tab and newlines as character references).
std::string XmlEscapeAttribute(absl::string_view value);

// `<?xml version="1.0" encoding="UTF-8"?><Response>…</Response>`; `verbs` are the children.
std::string RenderTwiml(const std::vector<TwimlElement>& verbs);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TWILIO_TWIML_H_
