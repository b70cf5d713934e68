#include "tests/support/xml.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace livecall::testing {
namespace {

bool IsXmlChar(uint32_t c) {
  return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
         (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

void AppendUtf8(uint32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3f)));
  }
}

// True when `text` is valid UTF-8 made of XML 1.0 characters only.
bool IsXmlText(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = text[i];
    const int length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x6  ? 2
                       : (lead >> 4) == 0xe  ? 3
                       : (lead >> 3) == 0x1e ? 4
                                             : 0;
    if (length == 0 || i + length > text.size()) return false;
    uint32_t code = length == 1 ? lead : lead & (0x7f >> length);
    for (int k = 1; k < length; ++k) {
      const unsigned char c = text[i + k];
      if ((c >> 6) != 2) return false;
      code = (code << 6) | (c & 0x3f);
    }
    static constexpr uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kShortest[length] || !IsXmlChar(code)) return false;
    i += length;
  }
  return true;
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<XmlNode> Document() {
    if (!IsXmlText(text_)) return Error("not UTF-8 text of XML 1.0 characters");
    if (absl::StartsWith(text_, "<?xml")) {
      const size_t end = text_.find("?>");
      if (end == absl::string_view::npos) return Error("unterminated XML declaration");
      pos_ = end + 2;
    }
    SkipSpace();
    absl::StatusOr<XmlNode> root = Element();
    if (!root.ok()) return root;
    SkipSpace();
    if (pos_ != text_.size()) return Error("content after the root element");
    return root;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("XML at offset ", pos_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool IsNameChar(char c) const {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == ':';
  }
  std::string Name() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  // Decodes raw text or an attribute value as an XML 1.0 processor does: line ends normalised
  // (CR LF and a lone CR become LF, §2.11), in attribute values literal whitespace becomes a space
  // (§3.3.3), entities and character references replaced; raw '<', bad entities and characters
  // XML does not allow are errors.
  absl::StatusOr<std::string> Decode(absl::string_view raw, bool attribute) {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '<') return Error("unescaped '<'");
      if (raw[i] == '\r') {
        if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
        out.push_back(attribute ? ' ' : '\n');
        continue;
      }
      if (raw[i] != '&') {
        out.push_back(attribute && (raw[i] == '\t' || raw[i] == '\n') ? ' ' : raw[i]);
        continue;
      }
      const size_t semi = raw.find(';', i);
      if (semi == absl::string_view::npos) return Error("unterminated entity");
      const absl::string_view entity = raw.substr(i + 1, semi - i - 1);
      if (entity == "amp") {
        out += "&";
      } else if (entity == "lt") {
        out += "<";
      } else if (entity == "gt") {
        out += ">";
      } else if (entity == "quot") {
        out += "\"";
      } else if (entity == "apos") {
        out += "'";
      } else if (absl::StartsWith(entity, "#")) {
        uint32_t code = 0;
        const bool hex = absl::StartsWith(entity, "#x");
        const absl::string_view digits = entity.substr(hex ? 2 : 1);
        if (digits.empty() ||
            !(hex ? absl::SimpleHexAtoi(digits, &code) : absl::SimpleAtoi(digits, &code)) ||
            !IsXmlChar(code)) {
          return Error("bad character reference");
        }
        AppendUtf8(code, &out);
      } else {
        return Error(absl::StrCat("unknown entity &", entity, ";"));
      }
      i = semi;
    }
    return out;
  }

  absl::StatusOr<XmlNode> Element() {
    if (pos_ >= text_.size() || text_[pos_] != '<') return Error("expected '<'");
    ++pos_;
    XmlNode node;
    node.name = Name();
    if (node.name.empty()) return Error("expected an element name");
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size()) return Error("unterminated start tag");
      if (absl::StartsWith(text_.substr(pos_), "/>")) {
        pos_ += 2;
        return node;
      }
      if (text_[pos_] == '>') {
        ++pos_;
        break;
      }
      const std::string key = Name();
      if (key.empty()) return Error("expected an attribute name");
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '=') return Error("expected '='");
      ++pos_;
      SkipSpace();
      if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) {
        return Error("expected a quoted attribute value");
      }
      const char quote = text_[pos_++];
      const size_t end = text_.find(quote, pos_);
      if (end == absl::string_view::npos) return Error("unterminated attribute value");
      absl::StatusOr<std::string> value =
          Decode(text_.substr(pos_, end - pos_), /*attribute=*/true);
      if (!value.ok()) return value.status();
      if (!node.attributes.emplace(key, *value).second) return Error("duplicate attribute");
      pos_ = end + 1;
    }
    while (true) {
      const size_t next = text_.find('<', pos_);
      if (next == absl::string_view::npos) return Error("unterminated element");
      absl::StatusOr<std::string> text =
          Decode(text_.substr(pos_, next - pos_), /*attribute=*/false);
      if (!text.ok()) return text.status();
      node.text += *text;
      pos_ = next;
      if (absl::StartsWith(text_.substr(pos_), "</")) {
        pos_ += 2;
        if (Name() != node.name) return Error(absl::StrCat("mismatched end tag for ", node.name));
        SkipSpace();
        if (pos_ >= text_.size() || text_[pos_] != '>') return Error("expected '>'");
        ++pos_;
        return node;
      }
      if (absl::StartsWith(text_.substr(pos_), "<!") ||
          absl::StartsWith(text_.substr(pos_), "<?")) {
        return Error("comments, CDATA and processing instructions are not expected");
      }
      absl::StatusOr<XmlNode> child = Element();
      if (!child.ok()) return child;
      node.children.push_back(*std::move(child));
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string XmlNode::Attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? "<absent>" : it->second;
}

const XmlNode* XmlNode::Child(const std::string& child_name) const {
  for (const XmlNode& child : children) {
    if (child.name == child_name) return &child;
  }
  return nullptr;
}

std::vector<std::string> XmlNode::ChildNames() const {
  std::vector<std::string> names;
  for (const XmlNode& child : children) names.push_back(child.name);
  return names;
}

absl::StatusOr<XmlNode> ParseXml(absl::string_view text) { return Parser(text).Document(); }

}  // namespace livecall::testing
