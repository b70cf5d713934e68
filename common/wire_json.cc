#include "common/wire_json.h"

#include <google/protobuf/stubs/strutil.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/enum_json.h"

namespace livecall {
namespace {

// Proto3 JSON's spelling of a float or double that is not finite (a string, as protobuf prints it).
const char* NonFiniteJson(double value) {
  return std::isnan(value) ? "\"NaN\"" : value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
}

// `value` (finite) as "%.<short>g" when that reads back as the same number, else
// "%.<long>g": protobuf's FloatToBuffer and DoubleToBuffer. std::to_chars with a precision prints
// exactly what printf's %g prints (both exact, "C" locale) and std::from_chars reads back as
// strtof/strtod round; together about a tenth of snprintf + strtod. Subnormal floats go to
// SimpleFtoa itself: its read-back (safe_strtof) fails on the ERANGE that strtof sets for them,
// which from_chars does not copy (doubles' read-back ignores errno); they are rare enough.
template <typename Number>
void AppendFloatingPoint(Number value, int short_precision, int long_precision, std::string* out) {
  char buffer[40];
  std::to_chars_result printed = std::to_chars(buffer, buffer + sizeof(buffer), value,
                                               std::chars_format::general, short_precision);
  Number parsed;
  const std::from_chars_result read = std::from_chars(buffer, printed.ptr, parsed);
  if (read.ec != std::errc() || read.ptr != printed.ptr || parsed != value) {
    printed = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general,
                            long_precision);
  }
  out->append(buffer, printed.ptr - buffer);
}

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;

constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

// ---------------------------------------------------------------------------------------------
// Strings, escaped as protobuf's JsonEscaping escapes them.

// The escape of each ASCII character, or nullptr when it is written as it is.
struct AsciiEscapes {
  const char* escape[128] = {};
  AsciiEscapes() {
    static const char* const kControl[32] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
        "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
        "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
    for (int c = 0; c < 32; ++c) escape[c] = kControl[c];
    escape[static_cast<int>('"')] = "\\\"";
    escape[static_cast<int>('\\')] = "\\\\";
    // For HTML: protobuf escapes these too.
    escape[static_cast<int>('<')] = "\\u003c";
    escape[static_cast<int>('>')] = "\\u003e";
    escape[0x7f] = "\\u007f";
  }
};
const AsciiEscapes kAscii;

// Whether any of the 8 bytes at `at` is escaped (kAscii) or starts or continues a UTF-8 sequence:
// Bit Twiddling Hacks' haszero, hasless and hasmore, exact as yes/no tests.
bool NeedsEscapeOrDecoding(const unsigned char* at) {
  constexpr uint64_t kEachByte = 0x0101010101010101u;
  constexpr uint64_t kHighBits = 0x8080808080808080u;
  auto has_zero_byte = [](uint64_t word) { return (word - kEachByte) & ~word & kHighBits; };
  uint64_t word;
  std::memcpy(&word, at, sizeof(word));
  // Below 0x20; 0x7f and up; '"'; '\\'; '<' or '>' (0x3c, 0x3e: equal but for bit 0x02).
  return ((word - kEachByte * 0x20) & ~word & kHighBits) |
         (((word + kEachByte) | word) & kHighBits) | has_zero_byte(word ^ (kEachByte * '"')) |
         has_zero_byte(word ^ (kEachByte * '\\')) |
         has_zero_byte((word ^ (kEachByte * '<')) & ~(kEachByte * 0x02));
}

// Code points past ASCII that protobuf writes as \u escapes: the C1 controls and the invisible
// characters it escapes against JavaScript mischief.
bool EscapedCodePoint(uint32_t cp) {
  if (cp < 0xa0) return true;  // Only C1 controls reach here.
  switch (cp) {
    case 0x00ad:
    case 0x06dd:
    case 0x070f:
    case 0x17b4:
    case 0x17b5:
    case 0xfeff:
    case 0xfff9:
    case 0xfffa:
    case 0xfffb:
      return true;
    default:
      break;
  }
  return (cp >= 0x0600 && cp <= 0x0603) || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
         (cp >= 0x206a && cp <= 0x206f) || cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) ||
         (cp >= 0xe0020 && cp <= 0xe007f);
}

void AppendUnicodeEscape(uint32_t unit, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char escape[6] = {'\\',
                          'u',
                          kHex[(unit >> 12) & 0xf],
                          kHex[(unit >> 8) & 0xf],
                          kHex[(unit >> 4) & 0xf],
                          kHex[unit & 0xf]};
  out->append(escape, 6);
}

// Appends `text` escaped (without quotes). false for invalid UTF-8 (protobuf drops such bytes
// its own way; that is left to it).
bool AppendEscaped(absl::string_view text, std::string* out) {
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  size_t copied = 0;
  size_t i = 0;
  while (i < size) {
    const unsigned char c = bytes[i];
    if (c < 0x80) {
      // Runs of ASCII that needs no escape, eight bytes at a time.
      if (i + 8 <= size && !NeedsEscapeOrDecoding(bytes + i)) {
        i += 8;
        continue;
      }
      if (kAscii.escape[c] != nullptr) {
        out->append(text.data() + copied, i - copied);
        out->append(kAscii.escape[c]);
        copied = i + 1;
      }
      ++i;
      continue;
    }
    // Two-byte characters below U+0600 that are not escaped (accented Latin, Greek, Cyrillic,
    // Armenian, Hebrew), the usual text past ASCII, without the general decoding below.
    if (c >= 0xc2 && c <= 0xd7 && i + 1 < size && (bytes[i + 1] & 0xc0) == 0x80) {
      const uint32_t cp = ((c & 0x1fu) << 6) | (bytes[i + 1] & 0x3fu);
      if (cp >= 0xa0 && cp != 0xad) {
        i += 2;
        continue;
      }
    }
    size_t length;
    uint32_t cp;
    uint32_t min;
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + length > size) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = bytes[i + k];
      if ((next & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if ((cp < 0x600 && cp >= 0xa0 && cp != 0xad) || !EscapedCodePoint(cp)) {
      i += length;
      continue;
    }
    out->append(text.data() + copied, i - copied);
    if (cp >= 0x10000) {
      AppendUnicodeEscape(0xd800 + ((cp - 0x10000) >> 10), out);
      AppendUnicodeEscape(0xdc00 + ((cp - 0x10000) & 0x3ff), out);
    } else {
      AppendUnicodeEscape(cp, out);
    }
    i += length;
    copied = i;
  }
  out->append(text.data() + copied, size - copied);
  return true;
}

std::string QuotedEscaped(absl::string_view text) {
  std::string out = "\"";
  AppendEscaped(text, &out);
  out.push_back('"');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plans: what the converters need of a message type, built once per type.

enum class Kind : uint8_t {
  kString,
  kBytes,
  kBool,
  kInt32,
  kSInt32,
  kSFixed32,
  kUInt32,
  kFixed32,
  kInt64,
  kSInt64,
  kSFixed64,
  kUInt64,
  kFixed64,
  kFloat,
  kDouble,
  kEnum,
  kMessage,
  kTimestamp,
  kUnsupported,
};

uint32_t WireTypeOf(Kind kind) {
  switch (kind) {
    case Kind::kFixed64:
    case Kind::kSFixed64:
    case Kind::kDouble:
      return kFixed64;
    case Kind::kFixed32:
    case Kind::kSFixed32:
    case Kind::kFloat:
      return kFixed32;
    case Kind::kString:
    case Kind::kBytes:
    case Kind::kMessage:
    case Kind::kTimestamp:
      return kLengthDelimited;
    default:
      return kVarint;
  }
}

struct EnumPlan {
  // Each value's JSON string literal (quoted, escaped), by number.
  absl::flat_hash_map<int32_t, std::string> literal_by_number;
  // The first value's: what an absent field prints.
  std::string default_literal;
  absl::flat_hash_map<std::string, int32_t> number_by_spelling;
};

struct MessagePlan;

struct FieldPlan {
  int number = 0;
  Kind kind = Kind::kUnsupported;
  bool repeated = false;
  bool map = false;
  bool in_oneof = false;
  int oneof_index = -1;  // Of a real oneof.
  // Printed after the declared fields, in wire order: protobuf's DefaultValueObjectWriter adds
  // a Timestamp (printed as a string where a message was expected) and a oneof's scalar (for
  // which it keeps no default) as new members at the end.
  bool deferred = false;
  // "\"sessionId\":" and "\"session_id\":"
  std::string key;
  std::string proto_key;
  const MessagePlan* message = nullptr;  // kMessage
  const EnumPlan* enums = nullptr;       // kEnum
  std::unique_ptr<FieldPlan> map_value;  // map: the entry's value field
};

struct MessagePlan {
  // False when a field is of a kind left to protobuf.
  bool supported = true;
  std::vector<FieldPlan> fields;  // In declaration order.
  std::vector<int16_t> index_by_number;
  absl::flat_hash_map<std::string, int> index_by_name;  // Proto and JSON names.

  int IndexOf(uint64_t number) const {
    return number < index_by_number.size() ? index_by_number[number] : -1;
  }
};

Kind KindOf(const FieldDescriptor* field) {
  switch (field->type()) {
    case FieldDescriptor::TYPE_STRING:
      return Kind::kString;
    case FieldDescriptor::TYPE_BYTES:
      return Kind::kBytes;
    case FieldDescriptor::TYPE_BOOL:
      return Kind::kBool;
    case FieldDescriptor::TYPE_INT32:
      return Kind::kInt32;
    case FieldDescriptor::TYPE_SINT32:
      return Kind::kSInt32;
    case FieldDescriptor::TYPE_SFIXED32:
      return Kind::kSFixed32;
    case FieldDescriptor::TYPE_UINT32:
      return Kind::kUInt32;
    case FieldDescriptor::TYPE_FIXED32:
      return Kind::kFixed32;
    case FieldDescriptor::TYPE_INT64:
      return Kind::kInt64;
    case FieldDescriptor::TYPE_SINT64:
      return Kind::kSInt64;
    case FieldDescriptor::TYPE_SFIXED64:
      return Kind::kSFixed64;
    case FieldDescriptor::TYPE_UINT64:
      return Kind::kUInt64;
    case FieldDescriptor::TYPE_FIXED64:
      return Kind::kFixed64;
    case FieldDescriptor::TYPE_FLOAT:
      return Kind::kFloat;
    case FieldDescriptor::TYPE_DOUBLE:
      return Kind::kDouble;
    case FieldDescriptor::TYPE_ENUM:
      return Kind::kEnum;
    case FieldDescriptor::TYPE_MESSAGE: {
      const std::string& name = field->message_type()->full_name();
      if (name == "google.protobuf.Timestamp") return Kind::kTimestamp;
      // The other well-known types print by rules of their own: left to protobuf.
      if (field->message_type()->file()->package() == "google.protobuf") return Kind::kUnsupported;
      return Kind::kMessage;
    }
    default:
      return Kind::kUnsupported;  // Groups.
  }
}

class Plans {
 public:
  const MessagePlan& For(const Descriptor* type) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::ReaderMutexLock lock(&mu_);
      if (auto it = messages_.find(type); it != messages_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    return Build(type);
  }

 private:
  const EnumPlan* BuildEnum(const EnumDescriptor* type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto [it, inserted] = enums_.try_emplace(type, nullptr);
    if (!inserted) return it->second.get();
    auto plan = std::make_unique<EnumPlan>();
    for (int i = 0; i < type->value_count(); ++i) {
      const std::string& spelling = EnumJsonName(type->value(i));
      // Aliases: the converter's lookup by number finds the first.
      plan->literal_by_number.try_emplace(type->value(i)->number(), QuotedEscaped(spelling));
      plan->number_by_spelling.try_emplace(spelling, type->value(i)->number());
    }
    if (type->value_count() > 0)
      plan->default_literal = QuotedEscaped(EnumJsonName(type->value(0)));
    it->second = std::move(plan);
    return it->second.get();
  }

  void FillField(const FieldDescriptor* field, FieldPlan* plan, bool* supported)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    plan->number = field->number();
    plan->kind = KindOf(field);
    plan->repeated = field->is_repeated();
    plan->key = absl::StrCat(QuotedEscaped(field->json_name()), ":");
    plan->proto_key = absl::StrCat(QuotedEscaped(field->name()), ":");
    if (plan->kind == Kind::kUnsupported) *supported = false;
    if (plan->kind == Kind::kEnum) plan->enums = BuildEnum(field->enum_type());
    if (plan->kind == Kind::kMessage) {
      if (field->is_map()) {
        plan->map = true;
        const FieldDescriptor* key = field->message_type()->map_key();
        const FieldDescriptor* value = field->message_type()->map_value();
        if (key->type() != FieldDescriptor::TYPE_STRING) *supported = false;
        plan->map_value = std::make_unique<FieldPlan>();
        FillField(value, plan->map_value.get(), supported);
      } else {
        plan->message = &Build(field->message_type());
      }
    }
  }

  const MessagePlan& Build(const Descriptor* type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (auto it = messages_.find(type); it != messages_.end()) return *it->second;
    // Inserted before its fields are planned: a recursive type finds itself.
    MessagePlan& plan = *messages_.emplace(type, std::make_unique<MessagePlan>()).first->second;
    plan.fields.resize(type->field_count());
    int max_number = 0;
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      max_number = std::max(max_number, field->number());
      FieldPlan& field_plan = plan.fields[i];
      FillField(field, &field_plan, &plan.supported);
      if (field->containing_oneof() != nullptr) {
        field_plan.in_oneof = true;
        // proto3 `optional` (a synthetic oneof): left to protobuf.
        if (field->real_containing_oneof() == nullptr) {
          plan.supported = false;
        } else {
          field_plan.oneof_index = field->real_containing_oneof()->index();
        }
      }
      field_plan.deferred =
          !field_plan.repeated && (field_plan.kind == Kind::kTimestamp ||
                                   (field_plan.in_oneof && field_plan.kind != Kind::kMessage));
      plan.index_by_name.try_emplace(field->name(), i);
      plan.index_by_name.try_emplace(field->json_name(), i);
    }
    if (max_number > 4096) {
      plan.supported = false;
    } else {
      plan.index_by_number.assign(max_number + 1, -1);
      for (int i = 0; i < type->field_count(); ++i) {
        plan.index_by_number[type->field(i)->number()] = static_cast<int16_t>(i);
      }
    }
    return plan;
  }

  absl::Mutex mu_;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<MessagePlan>> messages_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<const EnumDescriptor*, std::unique_ptr<EnumPlan>> enums_ ABSL_GUARDED_BY(mu_);
};

Plans& SharedPlans() {
  static Plans* plans = new Plans();
  return *plans;
}

// ---------------------------------------------------------------------------------------------
// Wire bytes → JSON.

bool ReadVarint(const char*& p, const char* end, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(*p++);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

// Moves `p` past one value of wire type `wire_type`; for length-delimited ones `value` is the
// bytes, for the others `number` the varint or fixed-width bits.
bool ReadValue(const char*& p, const char* end, uint32_t wire_type, uint64_t* number,
               absl::string_view* value) {
  switch (wire_type) {
    case kVarint:
      return ReadVarint(p, end, number);
    case kFixed64:
      if (end - p < 8) return false;
      std::memcpy(number, p, 8);  // Little-endian hosts only, as the suite's builds are.
      p += 8;
      return true;
    case kFixed32: {
      if (end - p < 4) return false;
      uint32_t bits;
      std::memcpy(&bits, p, 4);
      *number = bits;
      p += 4;
      return true;
    }
    case kLengthDelimited: {
      uint64_t length;
      if (!ReadVarint(p, end, &length) || length > static_cast<uint64_t>(end - p)) return false;
      *value = absl::string_view(p, length);
      p += length;
      return true;
    }
    default:
      return false;  // Groups: generated proto3 code writes none.
  }
}

bool IsPackable(Kind kind) {
  return kind != Kind::kString && kind != Kind::kBytes && kind != Kind::kMessage &&
         kind != Kind::kTimestamp;
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, protobuf's Timestamp range.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

void AppendDigits(uint32_t value, int width, char* at) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// As protobuf's FormatTime: "2025-11-26T09:00:00Z", with 3, 6 or 9 digits of fraction when there
// is one.
void AppendTimestamp(int64_t seconds, int32_t nanos, std::string* out) {
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char text[32] = "0000-00-00T00:00:00";
  AppendDigits(static_cast<uint32_t>(year), 4, text);
  AppendDigits(static_cast<uint32_t>(month), 2, text + 5);
  AppendDigits(static_cast<uint32_t>(day), 2, text + 8);
  AppendDigits(static_cast<uint32_t>(second_of_day / 3600), 2, text + 11);
  AppendDigits(static_cast<uint32_t>(second_of_day / 60 % 60), 2, text + 14);
  AppendDigits(static_cast<uint32_t>(second_of_day % 60), 2, text + 17);
  size_t length = 19;
  if (nanos != 0) {
    text[length++] = '.';
    if (nanos % 1000000 == 0) {
      AppendDigits(nanos / 1000000, 3, text + length);
      length += 3;
    } else if (nanos % 1000 == 0) {
      AppendDigits(nanos / 1000, 6, text + length);
      length += 6;
    } else {
      AppendDigits(nanos, 9, text + length);
      length += 9;
    }
  }
  text[length++] = 'Z';
  out->push_back('"');
  out->append(text, length);
  out->push_back('"');
}

class Printer {
 public:
  Printer(const WireJsonOptions& options, std::string* out) : options_(options), out_(out) {}

  bool Message(const MessagePlan& plan, absl::string_view wire) {
    if (!plan.supported || ++depth_ > 64) return false;
    // Where each field's bytes are: one run per field, as generated code writes them.
    struct Run {
      const char* begin = nullptr;
      const char* end = nullptr;
    };
    absl::InlinedVector<Run, 24> runs(plan.fields.size());
    const char* p = wire.data();
    const char* const end = p + wire.size();
    int last = -1;
    while (p < end) {
      const char* const field_begin = p;
      uint64_t tag;
      if (!ReadVarint(p, end, &tag) || tag > 0xffffffffu || (tag >> 3) == 0) return false;
      const uint32_t wire_type = tag & 7;
      uint64_t number;
      absl::string_view value;
      if (!ReadValue(p, end, wire_type, &number, &value)) return false;
      const int index = plan.IndexOf(tag >> 3);
      if (index < 0) {  // Unknown: the converter skips it too.
        last = -1;
        continue;
      }
      const FieldPlan& field = plan.fields[index];
      const uint32_t expected = field.map ? kLengthDelimited : WireTypeOf(field.kind);
      if (wire_type != expected && !(field.repeated && !field.map &&
                                     wire_type == kLengthDelimited && IsPackable(field.kind))) {
        return false;
      }
      Run& run = runs[index];
      if (run.begin != nullptr) {
        if (!field.repeated || last != index) return false;
      } else {
        run.begin = field_begin;
      }
      run.end = p;
      last = index;
    }

    out_->push_back('{');
    bool first = true;
    if (!options_.always_print_primitive_fields) {
      // protobuf's source writes the fields as they come, straight to JSON.
      absl::InlinedVector<int, 24> present;
      for (size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].begin != nullptr) present.push_back(static_cast<int>(i));
      }
      std::sort(present.begin(), present.end(),
                [&runs](int a, int b) { return runs[a].begin < runs[b].begin; });
      for (int i : present) {
        if (!first) out_->push_back(',');
        first = false;
        if (!Field(plan.fields[i], runs[i].begin, runs[i].end)) return false;
      }
      out_->push_back('}');
      --depth_;
      return true;
    }
    absl::InlinedVector<int, 8> deferred;
    for (size_t i = 0; i < plan.fields.size(); ++i) {
      const FieldPlan& field = plan.fields[i];
      const Run& run = runs[i];
      if (field.deferred) {
        if (run.begin != nullptr) deferred.push_back(static_cast<int>(i));
        continue;
      }
      if (!field.repeated && run.begin == nullptr &&
          (field.kind == Kind::kMessage || field.in_oneof)) {
        continue;  // An absent message prints nothing; a oneof's member has no default.
      }
      if (!first) out_->push_back(',');
      first = false;
      if (run.begin == nullptr && !field.repeated) {
        out_->append(Key(field));
        Default(field);
      } else if (!Field(field, run.begin, run.end)) {
        return false;
      }
    }
    std::sort(deferred.begin(), deferred.end(),
              [&runs](int a, int b) { return runs[a].begin < runs[b].begin; });
    for (int i : deferred) {
      if (!first) out_->push_back(',');
      first = false;
      if (!Field(plan.fields[i], runs[i].begin, runs[i].end)) return false;
    }
    out_->push_back('}');
    --depth_;
    return true;
  }

 private:
  const std::string& Key(const FieldPlan& field) const {
    return options_.preserve_proto_field_names ? field.proto_key : field.key;
  }

  // A member: its key and the value in [p, end) (a map's or a list's may be absent: p null).
  bool Field(const FieldPlan& field, const char* p, const char* end) {
    out_->append(Key(field));
    if (field.map) return Map(field, p, end);
    if (field.repeated) return List(field, p, end);
    return Singular(field, p, end);
  }

  bool Singular(const FieldPlan& field, const char* p, const char* end) {
    uint64_t tag;
    uint64_t number = 0;
    absl::string_view value;
    return ReadVarint(p, end, &tag) && ReadValue(p, end, tag & 7, &number, &value) &&
           Value(field, number, value);
  }

  bool List(const FieldPlan& field, const char* p, const char* end) {
    out_->push_back('[');
    bool first = true;
    while (p != nullptr && p < end) {
      uint64_t tag;
      uint64_t number = 0;
      absl::string_view value;
      if (!ReadVarint(p, end, &tag) || !ReadValue(p, end, tag & 7, &number, &value)) return false;
      if ((tag & 7) == kLengthDelimited && IsPackable(field.kind)) {
        const char* packed = value.data();
        const char* const packed_end = packed + value.size();
        const uint32_t wire_type = WireTypeOf(field.kind);
        while (packed < packed_end) {
          absl::string_view unused;
          if (!ReadValue(packed, packed_end, wire_type, &number, &unused)) return false;
          if (!first) out_->push_back(',');
          first = false;
          if (!Value(field, number, unused)) return false;
        }
        continue;
      }
      if (!first) out_->push_back(',');
      first = false;
      if (!Value(field, number, value)) return false;
    }
    out_->push_back(']');
    return true;
  }

  bool Map(const FieldPlan& field, const char* p, const char* end) {
    out_->push_back('{');
    bool first = true;
    const FieldPlan& value_field = *field.map_value;
    const uint32_t value_wire_type = WireTypeOf(value_field.kind);
    while (p != nullptr && p < end) {
      uint64_t tag;
      uint64_t unused_number;
      absl::string_view entry;
      if (!ReadVarint(p, end, &tag) || !ReadValue(p, end, tag & 7, &unused_number, &entry)) {
        return false;
      }
      // An entry as generated code writes it: the key, then the value.
      const char* q = entry.data();
      const char* const entry_end = q + entry.size();
      uint64_t key_tag;
      absl::string_view key;
      uint64_t value_tag;
      uint64_t number = 0;
      absl::string_view value;
      if (!ReadVarint(q, entry_end, &key_tag) || key_tag != ((1 << 3) | kLengthDelimited) ||
          !ReadValue(q, entry_end, kLengthDelimited, &unused_number, &key) ||
          !ReadVarint(q, entry_end, &value_tag) || value_tag != ((2 << 3) | value_wire_type) ||
          !ReadValue(q, entry_end, value_wire_type, &number, &value) || q != entry_end) {
        return false;
      }
      if (!first) out_->push_back(',');
      first = false;
      out_->push_back('"');
      if (!AppendEscaped(key, out_)) return false;
      out_->append("\":");
      if (!Value(value_field, number, value)) return false;
    }
    out_->push_back('}');
    return true;
  }

  void Default(const FieldPlan& field) {
    switch (field.kind) {
      case Kind::kString:
      case Kind::kBytes:
        out_->append("\"\"");
        return;
      case Kind::kBool:
        out_->append("false");
        return;
      case Kind::kInt64:
      case Kind::kSInt64:
      case Kind::kSFixed64:
      case Kind::kUInt64:
      case Kind::kFixed64:
        out_->append("\"0\"");
        return;
      case Kind::kEnum:
        out_->append(field.enums->default_literal);
        return;
      default:
        out_->push_back('0');
        return;
    }
  }

  bool Value(const FieldPlan& field, uint64_t number, absl::string_view bytes) {
    switch (field.kind) {
      case Kind::kString:
        out_->push_back('"');
        if (!AppendEscaped(bytes, out_)) return false;
        out_->push_back('"');
        return true;
      case Kind::kBytes:
        out_->push_back('"');
        out_->append(absl::Base64Escape(bytes));
        out_->push_back('"');
        return true;
      case Kind::kBool:
        if (number > 1) return false;
        out_->append(number != 0 ? "true" : "false");
        return true;
      case Kind::kInt32:
      case Kind::kSFixed32:
        absl::StrAppend(out_, static_cast<int32_t>(number));
        return true;
      case Kind::kSInt32: {
        const uint32_t bits = static_cast<uint32_t>(number);
        absl::StrAppend(out_, static_cast<int32_t>((bits >> 1) ^ (~(bits & 1) + 1)));
        return true;
      }
      case Kind::kUInt32:
      case Kind::kFixed32:
        if (number > 0xffffffffu) return false;
        absl::StrAppend(out_, static_cast<uint32_t>(number));
        return true;
      case Kind::kInt64:
      case Kind::kSFixed64:
        absl::StrAppend(out_, "\"", static_cast<int64_t>(number), "\"");
        return true;
      case Kind::kSInt64:
        absl::StrAppend(out_, "\"", static_cast<int64_t>((number >> 1) ^ (~(number & 1) + 1)),
                        "\"");
        return true;
      case Kind::kUInt64:
      case Kind::kFixed64:
        absl::StrAppend(out_, "\"", number, "\"");
        return true;
      case Kind::kFloat: {
        float value;
        const uint32_t bits = static_cast<uint32_t>(number);
        std::memcpy(&value, &bits, 4);
        if (std::isfinite(value)) {
          AppendJsonFloat(value, out_);
        } else {
          out_->append(NonFiniteJson(value));
        }
        return true;
      }
      case Kind::kDouble: {
        double value;
        std::memcpy(&value, &number, 8);
        if (std::isfinite(value)) {
          AppendJsonDouble(value, out_);
        } else {
          out_->append(NonFiniteJson(value));
        }
        return true;
      }
      case Kind::kEnum: {
        auto it = field.enums->literal_by_number.find(static_cast<int32_t>(number));
        if (it == field.enums->literal_by_number.end()) return false;
        out_->append(it->second);
        return true;
      }
      case Kind::kMessage:
        return Message(*field.message, bytes);
      case Kind::kTimestamp:
        return Timestamp(bytes);
      case Kind::kUnsupported:
        return false;
    }
    return false;
  }

  bool Timestamp(absl::string_view wire) {
    int64_t seconds = 0;
    int32_t nanos = 0;
    const char* p = wire.data();
    const char* const end = p + wire.size();
    int last = 0;
    while (p < end) {
      uint64_t tag;
      uint64_t value;
      if (!ReadVarint(p, end, &tag) || !ReadVarint(p, end, &value)) return false;
      // seconds (1) then nanos (2), once each, as generated code writes them.
      if (tag == ((1 << 3) | kVarint) && last < 1) {
        seconds = static_cast<int64_t>(value);
        last = 1;
      } else if (tag == ((2 << 3) | kVarint) && last < 2) {
        nanos = static_cast<int32_t>(value);
        last = 2;
      } else {
        return false;
      }
    }
    if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds || nanos < 0 ||
        nanos > 999999999) {
      return false;
    }
    AppendTimestamp(seconds, nanos, out_);
    return true;
  }

  const WireJsonOptions& options_;
  std::string* out_;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// JSON → wire bytes, from RapidJSON's SAX events.

void WriteVarint(uint64_t value, std::string* out) {
  char buffer[10];
  int length = 0;
  while (value >= 0x80) {
    buffer[length++] = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  buffer[length++] = static_cast<char>(value);
  out->append(buffer, length);
}

void WriteTag(int number, uint32_t wire_type, std::string* out) {
  WriteVarint((static_cast<uint64_t>(number) << 3) | wire_type, out);
}

// A JSON integer without sign other than '-', fraction or exponent, within 64 bits.
bool ParsePlainInteger(absl::string_view text, bool* negative, uint64_t* magnitude) {
  *negative = !text.empty() && text[0] == '-';
  if (*negative) text.remove_prefix(1);
  if (text.empty() || (*negative && text == "0")) return false;  // -0: protobuf's to judge.
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(text, magnitude);
}

// RapidJSON 1.1 decodes the escape of a lone low surrogate (U+DC00..U+DFFF) into the three bytes
// of that code point, which is not UTF-8; protobuf refuses it.
bool HasEncodedSurrogate(absl::string_view text) {
  for (size_t at = text.find('\xed'); at != absl::string_view::npos;
       at = text.find('\xed', at + 1)) {
    if (at + 1 < text.size() && static_cast<unsigned char>(text[at + 1]) >= 0xa0) return true;
  }
  return false;
}

class WireWriter : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, WireWriter> {
 public:
  WireWriter(const MessagePlan& root, std::string* out) : root_(root), out_(out) {}

  bool StartObject() {
    if (frames_.empty()) return PushMessage(root_, std::string::npos);
    Frame& top = frames_.back();
    const FieldPlan* field = top.type == Frame::kList ? top.field : top.pending;
    if (top.type == Frame::kMap || field == nullptr) return false;
    if (field->map) {
      if (top.type == Frame::kList) return false;
      top.pending = nullptr;
      frames_.push_back(Frame{Frame::kMap, nullptr, field});
      map_keys_.clear();  // One map is open at a time: its values are never objects.
      return true;
    }
    if (field->kind != Kind::kMessage || !field->message->supported) return false;
    if (top.type == Frame::kMessage) {
      if (field->repeated) return false;  // An object where a list belongs.
      top.pending = nullptr;
    }
    WriteTag(field->number, kLengthDelimited, out_);
    return PushMessage(*field->message, out_->size());
  }

  bool EndObject(rapidjson::SizeType) {
    Frame& top = frames_.back();
    if (top.type == Frame::kMap) {
      frames_.pop_back();
      return true;
    }
    if (top.content_start != std::string::npos) {
      std::string length;
      WriteVarint(out_->size() - top.content_start, &length);
      out_->insert(top.content_start, length);
    }
    frames_.pop_back();
    return true;
  }

  bool Key(const char* text, rapidjson::SizeType length, bool) {
    Frame& top = frames_.back();
    const absl::string_view name(text, length);
    if (HasEncodedSurrogate(name)) return false;
    if (top.type == Frame::kMap) {
      map_key_.assign(name.data(), name.size());
      // protobuf refuses a key given twice.
      return map_keys_.insert(map_key_).second;
    }
    auto it = top.plan->index_by_name.find(name);
    if (it == top.plan->index_by_name.end() || it->second >= 64) return false;
    const FieldPlan& field = top.plan->fields[it->second];
    // A field named twice, or two members of a oneof: protobuf says what they mean.
    if ((top.seen & (uint64_t{1} << it->second)) != 0) return false;
    top.seen |= uint64_t{1} << it->second;
    if (field.in_oneof) {
      if (field.oneof_index >= 64 || (top.oneofs_seen & (uint64_t{1} << field.oneof_index)) != 0) {
        return false;
      }
      top.oneofs_seen |= uint64_t{1} << field.oneof_index;
    }
    top.pending = &field;
    return true;
  }

  bool StartArray() {
    if (frames_.empty()) return false;
    Frame& top = frames_.back();
    if (top.type != Frame::kMessage || top.pending == nullptr || !top.pending->repeated ||
        top.pending->map) {
      return false;
    }
    const FieldPlan* field = top.pending;
    top.pending = nullptr;
    frames_.push_back(Frame{Frame::kList, nullptr, field});
    return true;
  }

  bool EndArray(rapidjson::SizeType) {
    frames_.pop_back();
    return true;
  }

  bool String(const char* text, rapidjson::SizeType length, bool) {
    const FieldPlan* field = TakeScalarField();
    if (field == nullptr) return false;
    const absl::string_view value(text, length);
    if (HasEncodedSurrogate(value)) return false;
    if (field->kind == Kind::kString) {
      return Emit([&] {
        WriteTag(field->number, kLengthDelimited, out_);
        WriteVarint(value.size(), out_);
        out_->append(value.data(), value.size());
      });
    }
    if (IsInteger(field->kind)) return Integer(*field, value);  // "123": how 64-bit ones print.
    if (field->kind == Kind::kEnum) {
      auto it = field->enums->number_by_spelling.find(value);
      if (it == field->enums->number_by_spelling.end()) return false;
      const int32_t number = it->second;
      return Emit([&] {
        WriteTag(field->number, kVarint, out_);
        WriteVarint(static_cast<uint64_t>(static_cast<int64_t>(number)), out_);
      });
    }
    return false;
  }

  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    const FieldPlan* field = TakeScalarField();
    // Floats, enums by number, numbers for strings: protobuf's to judge.
    if (field == nullptr || !IsInteger(field->kind)) return false;
    return Integer(*field, absl::string_view(text, length));
  }

  bool Bool(bool value) {
    const FieldPlan* field = TakeScalarField();
    if (field == nullptr || field->kind != Kind::kBool) return false;
    return Emit([&] {
      WriteTag(field->number, kVarint, out_);
      out_->push_back(value ? '\1' : '\0');
    });
  }

  // null, and numbers outside RawNumber: protobuf's to judge.
  bool Default() { return false; }

 private:
  struct Frame {
    enum Type { kMessage, kList, kMap } type;
    const MessagePlan* plan;                   // kMessage
    const FieldPlan* field;                    // kList, kMap: the repeated or map field
    size_t content_start = std::string::npos;  // kMessage: where its bytes start (not the root)
    const FieldPlan* pending = nullptr;        // kMessage: the field whose key was just read
    uint64_t seen = 0;                         // kMessage: fields named so far
    uint64_t oneofs_seen = 0;                  // kMessage: oneofs given a member so far
  };

  static bool IsInteger(Kind kind) {
    switch (kind) {
      case Kind::kInt32:
      case Kind::kSInt32:
      case Kind::kSFixed32:
      case Kind::kUInt32:
      case Kind::kFixed32:
      case Kind::kInt64:
      case Kind::kSInt64:
      case Kind::kSFixed64:
      case Kind::kUInt64:
      case Kind::kFixed64:
        return true;
      default:
        return false;
    }
  }

  // An integer field's value from its JSON text (a number, or a string of one).
  bool Integer(const FieldPlan& plan, absl::string_view text) {
    const FieldPlan* field = &plan;
    bool negative;
    uint64_t magnitude;
    if (!ParsePlainInteger(text, &negative, &magnitude)) return false;
    const bool is_unsigned = field->kind == Kind::kUInt32 || field->kind == Kind::kFixed32 ||
                             field->kind == Kind::kUInt64 || field->kind == Kind::kFixed64;
    const bool is_32_bit = field->kind == Kind::kInt32 || field->kind == Kind::kSInt32 ||
                           field->kind == Kind::kSFixed32 || field->kind == Kind::kUInt32 ||
                           field->kind == Kind::kFixed32;
    // Out of the field's range: protobuf's to refuse.
    if (is_unsigned) {
      if (negative || (is_32_bit && magnitude > UINT32_MAX)) return false;
    } else {
      const uint64_t limit = is_32_bit ? uint64_t{INT32_MAX} : uint64_t{INT64_MAX};
      if (magnitude > limit + (negative ? 1 : 0)) return false;
    }
    const int64_t value =
        negative ? static_cast<int64_t>(~magnitude + 1) : static_cast<int64_t>(magnitude);
    uint64_t bits = static_cast<uint64_t>(value);
    if (field->kind == Kind::kSInt32) {
      bits = (static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31);
    } else if (field->kind == Kind::kSInt64) {
      bits = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
    }
    const uint32_t wire_type = WireTypeOf(field->kind);
    return Emit([&] {
      WriteTag(field->number, wire_type, out_);
      if (wire_type == kVarint) {
        WriteVarint(bits, out_);
      } else if (wire_type == kFixed32) {
        const uint32_t fixed = static_cast<uint32_t>(bits);
        out_->append(reinterpret_cast<const char*>(&fixed), 4);
      } else {
        out_->append(reinterpret_cast<const char*>(&bits), 8);
      }
    });
  }

  bool PushMessage(const MessagePlan& plan, size_t content_start) {
    if (!plan.supported || frames_.size() > 64) return false;
    frames_.push_back(Frame{Frame::kMessage, &plan, nullptr, content_start});
    return true;
  }

  // The scalar field a value is for: the pending key's, a list's element's, or a map's value's.
  const FieldPlan* TakeScalarField() {
    if (frames_.empty()) return nullptr;
    Frame& top = frames_.back();
    switch (top.type) {
      case Frame::kMessage: {
        const FieldPlan* field = top.pending;
        top.pending = nullptr;
        if (field == nullptr || field->repeated) return nullptr;
        return field;
      }
      case Frame::kList:
        return top.field;
      case Frame::kMap:
        return top.field->map_value.get();
    }
    return nullptr;
  }

  // Writes one value: inside a map, as an entry (key, then value) of the map field.
  template <typename Write>
  bool Emit(Write write) {
    const Frame& top = frames_.back();
    if (top.type != Frame::kMap) {
      write();
      return true;
    }
    WriteTag(top.field->number, kLengthDelimited, out_);
    const size_t entry_start = out_->size();
    WriteTag(1, kLengthDelimited, out_);
    WriteVarint(map_key_.size(), out_);
    out_->append(map_key_);
    write();
    std::string length;
    WriteVarint(out_->size() - entry_start, &length);
    out_->insert(entry_start, length);
    return true;
  }

  const MessagePlan& root_;
  std::string* out_;
  absl::InlinedVector<Frame, 8> frames_;
  std::string map_key_;
  absl::flat_hash_set<std::string> map_keys_;
};

}  // namespace

bool WireToJson(const Descriptor* type, absl::string_view wire, const WireJsonOptions& options,
                std::string* json) {
  return Printer(options, json).Message(SharedPlans().For(type), wire);
}

bool JsonToWire(const Descriptor* type, absl::string_view json, std::string* wire) {
  // RapidJSON's memory stream reads a NUL as the end of the text.
  if (json.find('\0') != absl::string_view::npos) return false;
  const MessagePlan& plan = SharedPlans().For(type);
  if (!plan.supported) return false;
  WireWriter writer(plan, wire);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(json.data(), json.size());
  constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseIterativeFlag;
  return !reader.Parse<kFlags>(stream, writer).IsError();
}

void AppendJsonFloat(float value, std::string* out) {
  if (value != 0 && std::fabs(value) < std::numeric_limits<float>::min()) {
    out->append(google::protobuf::SimpleFtoa(value));
    return;
  }
  AppendFloatingPoint(value, FLT_DIG, FLT_DIG + 3, out);
}

void AppendJsonDouble(double value, std::string* out) {
  AppendFloatingPoint(value, DBL_DIG, DBL_DIG + 2, out);
}

}  // namespace livecall
