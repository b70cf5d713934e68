#include "services/call-control/twilio/twiml.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace livecall::call_control {
namespace {

// XML 1.0 allows tab, LF, CR and everything from 0x20 up; drop the rest of the C0 controls.
bool IsXmlChar(unsigned char c) { return c >= 0x20 || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

namespace {

// The length of the UTF-8 sequence at `text[i]` when it is valid and encodes an XML 1.0
// character, else 0. Invalid UTF-8 (a stray byte, an overlong form, a surrogate) and the
// non-characters U+FFFE/U+FFFF would make the whole document unreadable, so they are dropped like
// the C0 controls.
size_t XmlCharLength(absl::string_view text, size_t i) {
  const unsigned char lead = text[i];
  if (lead < 0x80) return IsXmlChar(lead) ? 1 : 0;
  const size_t length = (lead >> 5) == 0x6    ? 2
                        : (lead >> 4) == 0xe  ? 3
                        : (lead >> 3) == 0x1e ? 4
                                              : 0;
  if (length == 0 || i + length > text.size()) return 0;
  uint32_t code = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    const unsigned char c = text[i + k];
    if ((c >> 6) != 2) return 0;
    code = (code << 6) | (c & 0x3f);
  }
  static constexpr uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kShortest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ||
      code == 0xfffe || code == 0xffff) {
    return 0;
  }
  return length;
}

// Text and attribute values escape the same markup characters; an attribute value also escapes
// its quote, and keeps tab and line breaks as character references because attribute-value
// normalisation would turn them into spaces. A carriage return is a reference in text too, since
// a reader turns a literal one into a line feed.
void XmlEscapeInto(absl::string_view text, bool attribute, std::string* out) {
  out->reserve(out->size() + text.size());
  for (size_t i = 0; i < text.size();) {
    // A run of printable ASCII that needs no escaping is copied at once.
    size_t run = i;
    while (run < text.size()) {
      const unsigned char c = text[run];
      if (c < 0x20 || c >= 0x80 || c == '&' || c == '<' || c == '>' || c == '"') break;
      ++run;
    }
    if (run > i) {
      out->append(text.data() + i, run - i);
      i = run;
      if (i == text.size()) break;
    }
    const unsigned char c = text[i];
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append(attribute ? "&quot;" : "\"");
        break;
      case '\t':
      case '\n':
      case '\r':
        if (attribute || c == '\r') {
          absl::StrAppend(out, "&#", static_cast<int>(c), ";");
        } else {
          out->push_back(static_cast<char>(c));
        }
        break;
      default: {
        const size_t length = XmlCharLength(text, i);
        if (length == 0) {
          ++i;
          continue;
        }
        out->append(text.data() + i, length);
        i += length;
        continue;
      }
    }
    ++i;
  }
}

std::string XmlEscape(absl::string_view text, bool attribute) {
  std::string out;
  XmlEscapeInto(text, attribute, &out);
  return out;
}

// Escapes in place, into `out`: no string per attribute or text.
void Render(const TwimlElement& element, std::string* out) {
  absl::StrAppend(out, "<", element.name);
  for (const auto& [key, value] : element.attributes) {
    absl::StrAppend(out, " ", key, "=\"");
    XmlEscapeInto(value, /*attribute=*/true, out);
    out->push_back('"');
  }
  if (element.text.empty() && element.children.empty()) {
    out->append("/>");
    return;
  }
  out->push_back('>');
  XmlEscapeInto(element.text, /*attribute=*/false, out);
  for (const TwimlElement& child : element.children) Render(child, out);
  absl::StrAppend(out, "</", element.name, ">");
}

}  // namespace

std::string XmlEscapeText(absl::string_view text) { return XmlEscape(text, /*attribute=*/false); }

std::string XmlEscapeAttribute(absl::string_view value) {
  return XmlEscape(value, /*attribute=*/true);
}

std::string RenderTwiml(const std::vector<TwimlElement>& verbs) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  if (verbs.empty()) {
    out.append("<Response/>");
    return out;
  }
  // <Response> around the verbs, written here rather than as an element holding a copy of them.
  out.append("<Response>");
  for (const TwimlElement& verb : verbs) Render(verb, &out);
  out.append("</Response>");
  return out;
}

}  // namespace livecall::call_control
