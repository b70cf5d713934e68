#include "services/call-control/twiml.h"

#include "absl/strings/str_cat.h"

namespace livecall::call_control {
namespace {

// XML 1.0 allows tab, LF, CR and everything from 0x20 up; drop the rest of the C0 controls.
bool IsXmlChar(unsigned char c) { return c >= 0x20 || c == '\t' || c == '\n' || c == '\r'; }

void Render(const TwimlElement& element, std::string* out) {
  absl::StrAppend(out, "<", element.name);
  for (const auto& [key, value] : element.attributes) {
    absl::StrAppend(out, " ", key, "=\"", XmlEscapeAttribute(value), "\"");
  }
  if (element.text.empty() && element.children.empty()) {
    absl::StrAppend(out, "/>");
    return;
  }
  absl::StrAppend(out, ">", XmlEscapeText(element.text));
  for (const TwimlElement& child : element.children) Render(child, out);
  absl::StrAppend(out, "</", element.name, ">");
}

}  // namespace

namespace {

// Text and attribute values escape the same markup characters; an attribute value also escapes
// its quote, and keeps tab and line breaks as character references because attribute-value
// normalisation would turn them into spaces.
std::string XmlEscape(absl::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      case '\t':
      case '\n':
      case '\r':
        if (attribute) {
          absl::StrAppend(&out, "&#", static_cast<int>(c), ";");
        } else {
          out.push_back(static_cast<char>(c));
        }
        break;
      default:
        if (IsXmlChar(c)) out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

std::string XmlEscapeText(absl::string_view text) { return XmlEscape(text, /*attribute=*/false); }

std::string XmlEscapeAttribute(absl::string_view value) {
  return XmlEscape(value, /*attribute=*/true);
}

std::string RenderTwiml(const std::vector<TwimlElement>& verbs) {
  TwimlElement response{.name = "Response", .children = verbs};
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  if (verbs.empty()) {
    absl::StrAppend(&out, "<Response/>");
    return out;
  }
  Render(response, &out);
  return out;
}

}  // namespace livecall::call_control
