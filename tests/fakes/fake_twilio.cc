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
#include "tests/support/http_client.h"
#include "tests/support/xml.h"

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

// Twilio's limit on inline TwiML (CreateCall and UpdateCall's `Twiml`), in characters.
constexpr size_t kMaxInlineTwimlCharacters = 4000;

size_t Utf8Characters(absl::string_view text) {
  size_t characters = 0;
  for (char c : text) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return characters;
}

bool IsTerminal(const std::string& status) {
  return status == "completed" || status == "busy" || status == "failed" || status == "no-answer" ||
         status == "canceled";
}

// RFC 2822, as Twilio writes a callback's Timestamp.
std::string Rfc2822Now() {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", absl::Now(), absl::UTCTimeZone());
}

std::set<std::string> EventSet(const std::vector<std::string>& values) {
  std::set<std::string> events;
  for (const std::string& value : values) {
    for (absl::string_view event : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
      events.emplace(event);
    }
  }
  return events;
}

// The statusCallbackEvent name that asks for a conference event.
std::string EventKind(absl::string_view event) {
  if (event == "conference-start") return "start";
  if (event == "conference-end") return "end";
  if (event == "participant-join") return "join";
  if (event == "participant-leave") return "leave";
  if (absl::EndsWith(event, "hold")) return "hold";
  if (absl::EndsWith(event, "mute")) return "mute";
  return std::string(event);
}

// The TwiML attribute, or `absent`.
std::string TwimlAttr(const testing::XmlNode& node, const std::string& name,
                      const std::string& absent = "") {
  auto it = node.attributes.find(name);
  return it == node.attributes.end() ? absent : it->second;
}

}  // namespace

std::string FakeTwilio::Webhook::Field(const std::string& name) const {
  for (const auto& [key, value] : form) {
    if (key == name) return value;
  }
  return "";
}

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
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    outgoing_.clear();
  }
  if (delivery_thread_.joinable()) delivery_thread_.join();
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

  if ((request.operation_id == "CreateCall" || request.operation_id == "UpdateCall") &&
      Utf8Characters(request.Field("Twiml")) > kMaxInlineTwimlCharacters) {
    return violation(400, 32018, "Twiml size exceeded maximum allowed value of 4000 characters");
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
    const std::string sid = NewSid("CA");
    Call& call = calls_[sid];
    call.sid = sid;
    call.from = request.Field("From");
    call.to = request.Field("To");
    call.status_callback = request.Field("StatusCallback");
    call.status_events = EventSet(request.Fields("StatusCallbackEvent"));
    if (call.status_events.empty()) call.status_events = {"completed"};
    SendCallStatus(call, "initiated");
    set("sid", sid);
    set("status", "queued");
    set("to", call.to);
    set("from", call.from);
    set("direction", "outbound-api");
    return JsonAnswer(201, body);
  }
  if (op == "UpdateCall" || op == "FetchCall") {
    const std::string& sid = request.path_params.at("Sid");
    std::string status = request.Has("Status") ? request.Field("Status") : "in-progress";
    if (auto it = calls_.find(sid); it != calls_.end()) {
      Call& call = it->second;
      const std::string wanted = request.Field("Status");
      const bool unanswered = call.status == "queued" || call.status == "ringing";
      // canceled ends a call that is queued or ringing, and does nothing to an answered one.
      if (wanted == "canceled" && unanswered) Finish(call, "canceled");
      if (wanted == "completed") Finish(call, unanswered ? "canceled" : "completed");
      status = call.status;
    }
    set("sid", sid);
    set("status", status);
    return JsonAnswer(200, body);
  }
  if (op == "CreateParticipant") {
    const std::string& name = request.path_params.at("ConferenceSid");
    Conference* conference =
        absl::StartsWith(name, "CF") ? ConferenceBySid(name) : &ConferenceNamed(name);
    if (conference == nullptr)
      return TwilioError(404, 20404, "The requested resource was not found");
    if (conference->status_callback.empty() && request.Has("ConferenceStatusCallback")) {
      conference->status_callback = request.Field("ConferenceStatusCallback");
      conference->events = EventSet(request.Fields("ConferenceStatusCallbackEvent"));
    }
    const std::string sid = NewSid("CA");
    Call& call = calls_[sid];
    call.sid = sid;
    call.from = request.Field("From");
    call.to = request.Field("To");
    call.conference_name = conference->name;
    call.label = request.Field("Label");
    call.start_conference_on_enter = request.Field("StartConferenceOnEnter") != "false";
    call.end_conference_on_exit = request.Field("EndConferenceOnExit") == "true";
    call.muted = request.Field("Muted") == "true";
    call.status_callback = request.Field("StatusCallback");
    call.status_events = EventSet(request.Fields("StatusCallbackEvent"));
    if (call.status_events.empty()) call.status_events = {"completed"};
    SendCallStatus(call, "initiated");
    set("call_sid", sid);
    set("conference_sid", conference->sid);
    set("label", call.label);
    set_bool("hold", false);
    set_bool("muted", call.muted);
    set("status", "queued");
    return JsonAnswer(201, body);
  }
  if (op == "UpdateParticipant" || op == "DeleteParticipant" || op == "FetchParticipant") {
    const std::string& conference_sid = request.path_params.at("ConferenceSid");
    Conference* conference = ConferenceBySid(conference_sid);
    auto it = calls_.find(request.path_params.at("CallSid"));
    // A participant is one from being dialled in until its call ends.
    if (conference == nullptr || it == calls_.end() ||
        it->second.conference_name != conference->name || IsTerminal(it->second.status)) {
      return TwilioError(404, 20404, "The requested resource was not found");
    }
    Call& call = it->second;
    if (op == "DeleteParticipant") {
      Finish(call, call.joined ? "completed" : "canceled", /*kicked=*/true);
      FakeResponse gone;
      gone.status = 204;
      return gone;
    }
    if (request.Has("Hold") && call.hold != (request.Field("Hold") == "true")) {
      call.hold = !call.hold;
      if (call.joined) {
        SendConferenceEvent(*conference, call.hold ? "participant-hold" : "participant-unhold",
                            &call);
      }
    }
    if (request.Has("Muted") && call.muted != (request.Field("Muted") == "true")) {
      call.muted = !call.muted;
      if (call.joined) {
        SendConferenceEvent(*conference, call.muted ? "participant-mute" : "participant-unmute",
                            &call);
      }
    }
    if (request.Has("EndConferenceOnExit")) {
      call.end_conference_on_exit = request.Field("EndConferenceOnExit") == "true";
    }
    set("call_sid", call.sid);
    set("conference_sid", conference_sid);
    set("label", call.label);
    set_bool("hold", call.hold);
    set_bool("muted", call.muted);
    set_bool("end_conference_on_exit", call.end_conference_on_exit);
    set("status", call.joined ? "connected" : "ringing");
    return JsonAnswer(200, body);
  }
  if (op == "UpdateConference" || op == "FetchConference") {
    const std::string& sid = request.path_params.at("Sid");
    Conference* conference = ConferenceBySid(sid);
    if (conference == nullptr) {
      return TwilioError(404, 20404, "The requested resource was not found");
    }
    if (request.Field("Status") == "completed" && conference->status != "completed") {
      EndConference(*conference, "conference-ended-via-api", "");
    }
    set("sid", sid);
    set("status", conference->status);
    return JsonAnswer(200, body);
  }
  if (op == "ListConference") {
    google::protobuf::ListValue* list =
        (*body.mutable_fields())["conferences"].mutable_list_value();
    for (const auto& [name, sid] : conference_by_name_) {
      if (request.Has("FriendlyName") && request.Field("FriendlyName") != name) continue;
      const std::string& status = conferences_[sid].status;
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

FakeTwilio::Conference& FakeTwilio::ConferenceNamed(const std::string& name) {
  auto named = conference_by_name_.find(name);
  if (named != conference_by_name_.end()) {
    Conference& existing = conferences_[named->second];
    if (existing.status != "completed") return existing;
  }
  // The first participant creates it; a name whose conference ended names a new one.
  const std::string sid = NewSid("CF");
  conference_by_name_[name] = sid;
  Conference& conference = conferences_[sid];
  conference.sid = sid;
  conference.name = name;
  return conference;
}

FakeTwilio::Conference* FakeTwilio::ConferenceBySid(const std::string& sid) {
  auto it = conferences_.find(sid);
  return it == conferences_.end() ? nullptr : &it->second;
}

void FakeTwilio::SendCallStatus(Call& call, const std::string& event) {
  if (call.status_callback.empty() || !call.status_events.contains(event)) return;
  Form form = {{"AccountSid", options_.account_sid},
               {"ApiVersion", "2010-04-01"},
               {"CallSid", call.sid},
               {"CallStatus", event == "initiated" ? "initiated" : call.status},
               {"Direction", call.direction},
               {"From", call.from},
               {"To", call.to},
               {"CallbackSource", "call-progress-events"},
               {"Timestamp", Rfc2822Now()},
               {"SequenceNumber", absl::StrCat(call.callback_sequence++)}};
  if (event == "completed") form.emplace_back("CallDuration", "0");
  Enqueue(call.status_callback, std::move(form));
}

void FakeTwilio::SendConferenceEvent(Conference& conference, const std::string& event,
                                     const Call* call, Form extra) {
  if (conference.status_callback.empty() || !conference.events.contains(EventKind(event))) return;
  Form form = {{"AccountSid", options_.account_sid},
               {"ConferenceSid", conference.sid},
               {"FriendlyName", conference.name},
               {"StatusCallbackEvent", event},
               {"Timestamp", Rfc2822Now()},
               {"SequenceNumber", absl::StrCat(conference.sequence++)}};
  if (call != nullptr) {
    form.emplace_back("CallSid", call->sid);
    if (!call->label.empty()) form.emplace_back("ParticipantLabel", call->label);
    form.emplace_back("Hold", call->hold ? "true" : "false");
    form.emplace_back("Muted", call->muted ? "true" : "false");
    form.emplace_back("Coaching", "false");
    form.emplace_back("EndConferenceOnExit", call->end_conference_on_exit ? "true" : "false");
    form.emplace_back("StartConferenceOnEnter", call->start_conference_on_enter ? "true" : "false");
  }
  for (auto& field : extra) form.push_back(std::move(field));
  Enqueue(conference.status_callback, std::move(form));
}

void FakeTwilio::Join(Call& call) {
  Conference& conference = ConferenceNamed(call.conference_name);
  call.joined = true;
  conference.participants.push_back(call.sid);
  SendConferenceEvent(conference, "participant-join", &call);
  if (!conference.started && call.start_conference_on_enter) {
    conference.started = true;
    SendConferenceEvent(conference, "conference-start", nullptr);
  }
}

void FakeTwilio::Leave(Call& call, bool kicked) {
  call.joined = false;
  Conference& conference = ConferenceNamed(call.conference_name);
  std::erase(conference.participants, call.sid);
  SendConferenceEvent(conference, "participant-leave", &call);
  if (call.end_conference_on_exit && conference.started) {
    EndConference(conference,
                  kicked ? "participant-with-end-conference-on-exit-kicked"
                         : "participant-with-end-conference-on-exit-left",
                  call.sid);
  } else if (conference.participants.empty() || call.end_conference_on_exit) {
    EndConference(conference, "last-participant-left", call.sid);
  }
}

void FakeTwilio::EndConference(Conference& conference, const std::string& reason,
                               const std::string& ending_call) {
  conference.status = "completed";
  // Everyone still in it leaves: a <Dial><Conference> leg goes on after its <Dial> (here: the
  // TwiML ends, so the call does), a leg dialled in over REST is hung up.
  const std::vector<std::string> remaining = std::move(conference.participants);
  conference.participants.clear();
  for (const std::string& sid : remaining) {
    Call& call = calls_[sid];
    call.joined = false;
    SendConferenceEvent(conference, "participant-leave", &call);
    Finish(call, "completed");
  }
  // A conference that never started (its participants waited) ends without an event.
  if (!conference.started) return;
  Form reasons = {{"ReasonConferenceEnded", reason},
                  {"Reason", absl::StrCat("Conference ended: ", reason)}};
  if (!ending_call.empty()) {
    reasons.emplace_back("CallSidEndingConference", ending_call);
    const std::string& label = calls_[ending_call].label;
    if (!label.empty()) reasons.emplace_back("ParticipantLabelEndingConference", label);
  }
  SendConferenceEvent(conference, "conference-end", nullptr, std::move(reasons));
}

void FakeTwilio::Finish(Call& call, const std::string& status, bool kicked) {
  if (IsTerminal(call.status)) return;
  if (call.joined) {
    call.status = "completed";
    Leave(call, kicked);
  } else {
    call.status = status;
  }
  SendCallStatus(call, "completed");
}

void FakeTwilio::SetWebhookTarget(std::string public_url, std::string target_base_url,
                                  std::string auth_token) {
  absl::MutexLock lock(&mu_);
  public_url_ = std::move(public_url);
  target_base_url_ = std::move(target_base_url);
  auth_token_ = std::move(auth_token);
  if (!delivery_thread_.joinable()) delivery_thread_ = std::thread([this] { DeliveryLoop(); });
}

FakeTwilio::Webhook FakeTwilio::IncomingCall(const std::string& call_sid, const std::string& from,
                                             const std::string& to,
                                             const std::string& status_callback) {
  Call call;
  call.sid = call_sid;
  call.from = from;
  call.to = to;
  call.direction = "inbound";
  call.status = "ringing";
  call.status_callback = status_callback;
  call.status_events = {"completed"};
  return VoiceWebhook(std::move(call));
}

FakeTwilio::Webhook FakeTwilio::BrowserCall(const std::string& call_sid,
                                            const std::string& identity, const std::string& to) {
  Call call;
  call.sid = call_sid;
  call.from = absl::StrCat("client:", identity);
  call.to = to;
  call.direction = "inbound";
  call.status = "ringing";
  return VoiceWebhook(std::move(call));
}

FakeTwilio::Webhook FakeTwilio::VoiceWebhook(Call call) {
  auto answer = std::make_shared<Webhook>();
  {
    absl::MutexLock lock(&mu_);
    Form form = {{"AccountSid", options_.account_sid},
                 {"ApiVersion", "2010-04-01"},
                 {"CallSid", call.sid},
                 {"CallStatus", "ringing"},
                 {"Direction", "inbound"},
                 {"From", call.from},
                 {"Caller", call.from},
                 {"To", call.to},
                 {"Called", call.to}};
    const std::string sid = call.sid;
    calls_[sid] = std::move(call);
    Enqueue(absl::StrCat(public_url_, "/twilio/voice"), std::move(form),
            [this, sid, answer](const Webhook& delivered) {
              *answer = delivered;
              if (delivered.status == 200) {
                RunTwiml(sid, delivered.body);
              } else {
                // Twilio says "an application error has occurred" and hangs up.
                absl::MutexLock lock(&mu_);
                Finish(calls_[sid], "completed");
              }
            });
  }
  Flush();
  return *answer;
}

void FakeTwilio::RunTwiml(const std::string& call_sid, const std::string& twiml) {
  absl::StatusOr<testing::XmlNode> response = testing::ParseXml(twiml);
  absl::MutexLock lock(&mu_);
  Call& call = calls_[call_sid];
  const testing::XmlNode* conference = nullptr;
  if (response.ok()) {
    for (const testing::XmlNode& verb : response->children) {
      if (verb.name == "Dial" && verb.Child("Conference") != nullptr) {
        conference = verb.Child("Conference");
        break;
      }
    }
  } else {
    violations_.push_back(absl::StrCat("TwiML for ", call_sid, " is not XML: ", twiml));
  }
  if (conference == nullptr) {
    // The TwiML ran to its end (<Say>…<Hangup/>): the call is over.
    call.status = "in-progress";
    Finish(call, "completed");
    return;
  }
  call.status = "in-progress";
  call.conference_name = conference->text;
  call.label = TwimlAttr(*conference, "participantLabel");
  call.start_conference_on_enter = TwimlAttr(*conference, "startConferenceOnEnter") != "false";
  call.end_conference_on_exit = TwimlAttr(*conference, "endConferenceOnExit") == "true";
  Conference& joined = ConferenceNamed(call.conference_name);
  if (joined.status_callback.empty()) {
    joined.status_callback = TwimlAttr(*conference, "statusCallback");
    joined.events = EventSet({TwimlAttr(*conference, "statusCallbackEvent", "start end")});
  }
  Join(call);
}

void FakeTwilio::Ring(const std::string& call_sid) {
  {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(call_sid);
    if (it != calls_.end() && it->second.status == "queued") {
      it->second.status = "ringing";
      SendCallStatus(it->second, "ringing");
    }
  }
  Flush();
}

void FakeTwilio::Answer(const std::string& call_sid) { Answer(std::vector<std::string>{call_sid}); }

void FakeTwilio::Answer(const std::vector<std::string>& call_sids) {
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& call_sid : call_sids) {
      auto it = calls_.find(call_sid);
      if (it == calls_.end() || (it->second.status != "queued" && it->second.status != "ringing")) {
        continue;
      }
      Call& call = it->second;
      call.status = "in-progress";
      SendCallStatus(call, "answered");
      if (!call.conference_name.empty()) Join(call);
    }
  }
  Flush();
}

std::vector<std::string> FakeTwilio::CallSidsTo(const std::string& to) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> sids;
  // Sids are numbered in creation order, so the map's order is theirs.
  for (const auto& [sid, call] : calls_) {
    if (call.to == to && call.direction == "outbound-api") sids.push_back(sid);
  }
  return sids;
}

void FakeTwilio::EndCall(const std::string& call_sid, const std::string& status) {
  {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(call_sid);
    if (it != calls_.end()) Finish(it->second, status);
  }
  Flush();
}

std::string FakeTwilio::CallStatus(const std::string& call_sid) const {
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(call_sid);
  return it == calls_.end() ? "" : it->second.status;
}

std::string FakeTwilio::ConferenceStatus(const std::string& friendly_name) const {
  absl::MutexLock lock(&mu_);
  auto named = conference_by_name_.find(friendly_name);
  if (named == conference_by_name_.end()) return "";
  return conferences_.at(named->second).status;
}

std::vector<FakeTwilio::Webhook> FakeTwilio::Webhooks() const {
  absl::MutexLock lock(&mu_);
  return delivered_;
}

void FakeTwilio::Enqueue(std::string url, Form form, std::function<void(const Webhook&)> then) {
  // Without a target (tests that play Twilio's side themselves) nothing is sent.
  if (target_base_url_.empty() || stopping_) return;
  outgoing_.push_back({std::move(url), std::move(form), std::move(then)});
}

void FakeTwilio::Flush() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](FakeTwilio* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return self->stopping_ || (self->outgoing_.empty() && !self->delivering_);
      },
      this));
}

FakeTwilio::Webhook FakeTwilio::Deliver(const std::string& url, const Form& form) {
  std::string public_url;
  std::string target;
  std::string token;
  {
    absl::MutexLock lock(&mu_);
    public_url = public_url_;
    target = target_base_url_;
    token = auth_token_;
  }
  Webhook webhook{.url = url, .form = form};
  if (!absl::StartsWith(url, public_url)) {
    absl::MutexLock lock(&mu_);
    violations_.push_back(absl::StrCat("webhook URL ", url, " is not under ", public_url));
    return webhook;
  }
  std::string body;
  for (const auto& [name, value] : form) {
    absl::StrAppend(&body, body.empty() ? "" : "&", testing::UrlEncode(name), "=",
                    testing::UrlEncode(value));
  }
  const testing::HttpResponse answer =
      testing::HttpRequest("POST", absl::StrCat(target, url.substr(public_url.size())), body,
                           {{"Content-Type", "application/x-www-form-urlencoded"},
                            {"User-Agent", "TwilioProxy/1.1"},
                            {"X-Twilio-Signature", TwilioTestSignature(token, url, form)}},
                           options_.webhook_budget);
  webhook.status = answer.status;
  webhook.body = answer.body;
  if (answer.status < 200 || answer.status >= 300) {
    absl::MutexLock lock(&mu_);
    violations_.push_back(
        answer.status == 0
            ? absl::StrCat("POST ", url, ": no answer within Twilio's ",
                           absl::FormatDuration(options_.webhook_budget),
                           " (error 11200: an application error has occurred)")
            : absl::StrCat("POST ", url, ": answered HTTP ", answer.status,
                           " (error 11200: an application error has occurred): ", answer.body));
  }
  return webhook;
}

void FakeTwilio::DeliveryLoop() {
  while (true) {
    Outgoing next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](FakeTwilio* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return self->stopping_ || !self->outgoing_.empty();
          },
          this));
      if (stopping_) return;
      next = std::move(outgoing_.front());
      outgoing_.pop_front();
      delivering_ = true;
    }
    Webhook delivered = Deliver(next.url, next.form);
    if (next.then) next.then(delivered);
    absl::MutexLock lock(&mu_);
    delivered_.push_back(std::move(delivered));
    delivering_ = false;
  }
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
