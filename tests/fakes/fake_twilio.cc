#include "tests/fakes/fake_twilio.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace livecall::fakes {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Member(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}
const Struct* MemberObject(const Struct& object, const std::string& key) {
  const Value* value = Member(object, key);
  return value != nullptr && value->kind_case() == Value::kStructValue ? &value->struct_value()
                                                                       : nullptr;
}
std::string MemberString(const Struct& object, const std::string& key) {
  const Value* value = Member(object, key);
  return value != nullptr && value->kind_case() == Value::kStringValue ? value->string_value() : "";
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX and '+' decoding; false for a broken escape.
bool Decode(absl::string_view text, bool plus_is_space, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return false;
      const int high = Hex(text[i + 1]);
      const int low = Hex(text[i + 2]);
      if (high < 0 || low < 0) return false;
      out->push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (text[i] == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(text[i]);
    }
  }
  return true;
}

bool ParseForm(absl::string_view text, std::vector<std::pair<std::string, std::string>>* out) {
  if (text.empty()) return true;
  for (absl::string_view pair : absl::StrSplit(text, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string name;
    std::string value;
    if (!Decode(pair.substr(0, eq), true, &name)) return false;
    if (eq != absl::string_view::npos && !Decode(pair.substr(eq + 1), true, &value)) return false;
    out->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

std::string ToJson(const Struct& object) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(object, &json);
  return json;
}

FakeResponse JsonAnswer(int status, const Struct& body) {
  FakeResponse response;
  response.status = status;
  response.chunks = {ToJson(body)};
  return response;
}

FakeResponse TwilioError(int http_status, int code, const std::string& message) {
  Struct body;
  (*body.mutable_fields())["code"].set_number_value(code);
  (*body.mutable_fields())["message"].set_string_value(message);
  (*body.mutable_fields())["more_info"].set_string_value(
      absl::StrCat("https://www.twilio.com/docs/errors/", code));
  (*body.mutable_fields())["status"].set_number_value(http_status);
  return JsonAnswer(http_status, body);
}

}  // namespace

std::string TwilioApiRequest::Field(const std::string& name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return "";
}

std::vector<std::string> TwilioApiRequest::Fields(const std::string& name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : fields) {
    if (key == name) values.push_back(value);
  }
  return values;
}

bool TwilioApiRequest::Has(const std::string& name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return true;
  }
  return false;
}

// The OpenAPI document and what validation reads from it.
struct FakeTwilio::Spec {
  Struct document;

  // The schema behind a $ref, or the schema itself.
  const Struct* Resolve(const Struct* schema) const {
    if (schema == nullptr) return nullptr;
    const std::string ref = MemberString(*schema, "$ref");
    const std::string prefix = "#/components/schemas/";
    if (!absl::StartsWith(ref, prefix)) return schema;
    const Struct* components = MemberObject(document, "components");
    const Struct* schemas = components ? MemberObject(*components, "schemas") : nullptr;
    return schemas ? MemberObject(*schemas, ref.substr(prefix.size())) : nullptr;
  }

  // Problems with `value` against `schema` ("" when fine).
  std::string CheckValue(const Struct* schema, const std::string& value) const {
    schema = Resolve(schema);
    if (schema == nullptr) return "";
    const std::string type = MemberString(*schema, "type");
    if (type == "array") return CheckValue(MemberObject(*schema, "items"), value);
    if (type == "boolean" && value != "true" && value != "false") return "is not true or false";
    if (type == "integer") {
      if (value.empty() || value.find_first_not_of("-0123456789") != std::string::npos) {
        return "is not an integer";
      }
    }
    if (const Value* values = Member(*schema, "enum");
        values != nullptr && values->kind_case() == Value::kListValue) {
      for (const Value& allowed : values->list_value().values()) {
        if (allowed.string_value() == value) return "";
      }
      return "is not one of the enum's values";
    }
    const std::string pattern = MemberString(*schema, "pattern");
    if (!pattern.empty() && !std::regex_search(value, std::regex(pattern))) {
      return absl::StrCat("does not match ", pattern);
    }
    return "";
  }
};

FakeTwilio::FakeTwilio() : FakeTwilio(Options{}) {}
FakeTwilio::FakeTwilio(Options options)
    : options_(std::move(options)), spec_(std::make_unique<Spec>()) {}
FakeTwilio::~FakeTwilio() { Stop(); }

absl::Status FakeTwilio::Start() {
  const std::string path =
      options_.openapi_path.empty() ? LIVECALL_FAKE_TWILIO_OPENAPI : options_.openapi_path;
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &spec_->document).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not JSON"));
  }
  server_ = std::make_unique<FakeHttpServer>(
      [this](const FakeRequest& request) { return Handle(request); });
  return server_->Start();
}

void FakeTwilio::Stop() {
  if (server_) server_->Stop();
}

std::string FakeTwilio::base_url() const { return server_ ? server_->base_url() : ""; }

void FakeTwilio::FailNext(const std::string& operation_id, int http_status, int code,
                          std::string message, int times) {
  absl::MutexLock lock(&mu_);
  failures_[operation_id].push_back(
      {.http_status = http_status, .code = code, .message = std::move(message), .times = times});
}

void FakeTwilio::DelayNext(const std::string& operation_id, absl::Duration delay, int times) {
  absl::MutexLock lock(&mu_);
  delays_[operation_id].push_back({.delay = delay, .times = times});
}

std::vector<TwilioApiRequest> FakeTwilio::Requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<TwilioApiRequest> FakeTwilio::Requests(const std::string& operation_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<TwilioApiRequest> matching;
  for (const TwilioApiRequest& request : requests_) {
    if (request.operation_id == operation_id) matching.push_back(request);
  }
  return matching;
}

std::vector<std::string> FakeTwilio::Violations() const {
  absl::MutexLock lock(&mu_);
  return violations_;
}

int FakeTwilio::total_requests() const {
  absl::MutexLock lock(&mu_);
  return total_requests_;
}

std::string FakeTwilio::NewSid(const char* prefix) {
  return absl::StrFormat("%s%032x", prefix, next_sid_++);
}

FakeResponse FakeTwilio::Handle(const FakeRequest& raw) {
  const std::string where = absl::StrCat(raw.method, " ", raw.target);
  auto violation = [&](int http_status, int code, const std::string& problem) {
    absl::MutexLock lock(&mu_);
    violations_.push_back(absl::StrCat(where, ": ", problem));
    return TwilioError(http_status, code, problem);
  };
  {
    absl::MutexLock lock(&mu_);
    ++total_requests_;
  }
  const size_t question = raw.target.find('?');
  TwilioApiRequest request;
  request.method = raw.method;
  request.path = raw.target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : raw.target.substr(question + 1);

  // The path template.
  const Struct* paths = MemberObject(spec_->document, "paths");
  const std::vector<std::string> segments = absl::StrSplit(request.path, '/');
  const Struct* item = nullptr;
  for (const auto& [pattern, value] : paths->fields()) {
    const std::vector<std::string> template_segments = absl::StrSplit(pattern, '/');
    if (template_segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool matched = true;
    for (size_t i = 0; i < segments.size() && matched; ++i) {
      const std::string& t = template_segments[i];
      const size_t open = t.find('{');
      if (open == std::string::npos) {
        matched = t == segments[i];
        continue;
      }
      const size_t close = t.find('}');
      const std::string suffix = t.substr(close + 1);
      const std::string& s = segments[i];
      if (s.size() <= open + suffix.size() || s.compare(0, open, t, 0, open) != 0 ||
          !absl::EndsWith(s, suffix)) {
        matched = false;
        continue;
      }
      std::string decoded;
      if (!Decode(s.substr(open, s.size() - open - suffix.size()), false, &decoded)) {
        matched = false;
        continue;
      }
      params[t.substr(open + 1, close - open - 1)] = decoded;
    }
    if (matched) {
      item = &value.struct_value();
      request.path_params = std::move(params);
      break;
    }
  }
  if (item == nullptr) return violation(404, 20404, "no such path in Twilio's API");
  const Struct* operation = MemberObject(*item, absl::AsciiStrToLower(raw.method));
  if (operation == nullptr) return violation(405, 20004, "method not allowed on this path");
  request.operation_id = MemberString(*operation, "operationId");

  // Credentials and account.
  const std::string expected_auth = absl::StrCat(
      "Basic ", absl::Base64Escape(absl::StrCat(options_.username, ":", options_.password)));
  auto auth = raw.headers.find("authorization");
  if (auth == raw.headers.end() || auth->second != expected_auth) {
    return violation(401, 20003, "Authenticate: wrong or missing Basic credentials");
  }
  if (request.path_params["AccountSid"] != options_.account_sid) {
    return violation(404, 20404, "the account in the path is not the configured one");
  }

  // Path parameters against their schemas.
  std::map<std::string, const Struct*> query_schemas;
  if (const Value* parameters = Member(*operation, "parameters"); parameters != nullptr) {
    for (const Value& parameter : parameters->list_value().values()) {
      const Struct& p = parameter.struct_value();
      const std::string name = MemberString(p, "name");
      const std::string in = MemberString(p, "in");
      if (in == "query") query_schemas[name] = MemberObject(p, "schema");
      if (in != "path") continue;
      const std::string problem =
          spec_->CheckValue(MemberObject(p, "schema"), request.path_params[name]);
      if (!problem.empty()) {
        return violation(404, 20404,
                         absl::StrCat("path parameter ", name, " \"", request.path_params[name],
                                      "\" ", problem));
      }
    }
  }

  // Form fields, or query parameters.
  if (raw.method == "POST") {
    auto type = raw.headers.find("content-type");
    if (type == raw.headers.end() ||
        !absl::StartsWith(type->second, "application/x-www-form-urlencoded")) {
      return violation(400, 20001, "a POST body must be application/x-www-form-urlencoded");
    }
    if (!ParseForm(raw.body, &request.fields)) return violation(400, 20001, "malformed form body");
    const Struct* body = MemberObject(*operation, "requestBody");
    const Struct* content = body ? MemberObject(*body, "content") : nullptr;
    const Struct* form =
        content ? MemberObject(*content, "application/x-www-form-urlencoded") : nullptr;
    const Struct* schema = form ? MemberObject(*form, "schema") : nullptr;
    const Struct* properties = schema ? MemberObject(*schema, "properties") : nullptr;
    for (const auto& [name, value] : request.fields) {
      const Struct* property = properties ? MemberObject(*properties, name) : nullptr;
      if (property == nullptr) {
        return violation(
            400, 20001,
            absl::StrCat("form field \"", name, "\" is not a parameter of ", request.operation_id));
      }
      const std::string problem = spec_->CheckValue(property, value);
      if (!problem.empty()) {
        return violation(400, 20001,
                         absl::StrCat("form field ", name, "=\"", value, "\" ", problem));
      }
    }
    if (schema != nullptr) {
      if (const Value* required = Member(*schema, "required"); required != nullptr) {
        for (const Value& name : required->list_value().values()) {
          if (!request.Has(name.string_value())) {
            return violation(
                400, 21201,
                absl::StrCat("required form field ", name.string_value(), " is missing"));
          }
        }
      }
    }
  } else {
    if (!raw.body.empty()) return violation(400, 20001, "unexpected request body");
    if (!ParseForm(query, &request.fields)) return violation(400, 20001, "malformed query");
    for (const auto& [name, value] : request.fields) {
      auto schema = query_schemas.find(name);
      if (schema == query_schemas.end()) {
        return violation(400, 20001,
                         absl::StrCat("query parameter \"", name, "\" is not a parameter of ",
                                      request.operation_id));
      }
      const std::string problem = spec_->CheckValue(schema->second, value);
      if (!problem.empty()) {
        return violation(400, 20001, absl::StrCat("query parameter ", name, " ", problem));
      }
    }
  }

  absl::Duration delay;
  FakeResponse response;
  {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    if (auto it = delays_.find(request.operation_id); it != delays_.end() && !it->second.empty()) {
      delay = it->second.front().delay;
      if (--it->second.front().times <= 0) it->second.erase(it->second.begin());
    }
    if (auto it = failures_.find(request.operation_id);
        it != failures_.end() && !it->second.empty()) {
      const Script& script = it->second.front();
      response = TwilioError(script.http_status, script.code, script.message);
      if (--it->second.front().times <= 0) it->second.erase(it->second.begin());
    } else {
      response = Answer(request);
    }
  }
  response.delay_before_headers = delay;
  return response;
}

FakeResponse FakeTwilio::Answer(const TwilioApiRequest& request) {
  Struct body;
  auto set = [&body](const char* key, const std::string& value) {
    (*body.mutable_fields())[key].set_string_value(value);
  };
  auto set_bool = [&body](const char* key, bool value) {
    (*body.mutable_fields())[key].set_bool_value(value);
  };
  set("account_sid", options_.account_sid);
  const std::string& op = request.operation_id;
  if (op == "CreateCall") {
    set("sid", NewSid("CA"));
    set("status", "queued");
    set("to", request.Field("To"));
    set("from", request.Field("From"));
    set("direction", "outbound-api");
    return JsonAnswer(201, body);
  }
  if (op == "UpdateCall" || op == "FetchCall") {
    set("sid", request.path_params.at("Sid"));
    set("status", request.Has("Status") ? request.Field("Status") : "in-progress");
    return JsonAnswer(200, body);
  }
  if (op == "CreateParticipant") {
    const std::string& name = request.path_params.at("ConferenceSid");
    std::string conference = name;
    if (!absl::StartsWith(name, "CF")) {
      auto [it, created] = conference_by_name_.emplace(name, "");
      if (created) it->second = NewSid("CF");
      conference = it->second;
      conference_status_[conference] = "in-progress";
    }
    const std::string call_sid = NewSid("CA");
    participants_[call_sid] = {.label = request.Field("Label"), .conference_sid = conference};
    set("call_sid", call_sid);
    set("conference_sid", conference);
    set("label", request.Field("Label"));
    set_bool("hold", false);
    set_bool("muted", request.Field("Muted") == "true");
    set("status", "queued");
    return JsonAnswer(201, body);
  }
  if (op == "UpdateParticipant" || op == "DeleteParticipant" || op == "FetchParticipant") {
    const std::string& conference = request.path_params.at("ConferenceSid");
    auto it = participants_.find(request.path_params.at("CallSid"));
    if (it == participants_.end() || it->second.conference_sid != conference) {
      return TwilioError(404, 20404, "The requested resource was not found");
    }
    if (op == "DeleteParticipant") {
      participants_.erase(it);
      FakeResponse gone;
      gone.status = 204;
      return gone;
    }
    if (request.Has("Hold")) it->second.hold = request.Field("Hold") == "true";
    if (request.Has("Muted")) it->second.muted = request.Field("Muted") == "true";
    set("call_sid", it->first);
    set("conference_sid", conference);
    set("label", it->second.label);
    set_bool("hold", it->second.hold);
    set_bool("muted", it->second.muted);
    set("status", "connected");
    return JsonAnswer(200, body);
  }
  if (op == "UpdateConference" || op == "FetchConference") {
    const std::string& sid = request.path_params.at("Sid");
    auto it = conference_status_.find(sid);
    if (it == conference_status_.end()) {
      return TwilioError(404, 20404, "The requested resource was not found");
    }
    if (request.Has("Status")) it->second = request.Field("Status");
    set("sid", sid);
    set("status", it->second);
    return JsonAnswer(200, body);
  }
  if (op == "ListConference") {
    google::protobuf::ListValue* list =
        (*body.mutable_fields())["conferences"].mutable_list_value();
    for (const auto& [name, sid] : conference_by_name_) {
      if (request.Has("FriendlyName") && request.Field("FriendlyName") != name) continue;
      const std::string& status = conference_status_[sid];
      if (request.Has("Status") && request.Field("Status") != status) continue;
      Struct* conference = list->add_values()->mutable_struct_value();
      (*conference->mutable_fields())["sid"].set_string_value(sid);
      (*conference->mutable_fields())["friendly_name"].set_string_value(name);
      (*conference->mutable_fields())["status"].set_string_value(status);
    }
    return JsonAnswer(200, body);
  }
  return TwilioError(501, 20001, absl::StrCat("the fake does not implement ", op));
}

std::string TwilioTestSignature(const std::string& auth_token, const std::string& url,
                                const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<std::pair<std::string, std::string>> sorted = params;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string data = url;
  for (const auto& [name, value] : sorted) absl::StrAppend(&data, name, value);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace livecall::fakes
