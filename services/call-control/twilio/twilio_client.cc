#include "services/call-control/twilio/twilio_client.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "common/log.h"

namespace livecall::call_control {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// Twilio's answer as a JSON object; INTERNAL when it is not one.
absl::StatusOr<Struct> ParseAnswer(absl::string_view body) {
  absl::StatusOr<Struct> object = ParseJsonObject(body);
  if (!object.ok()) return absl::InternalError(absl::StrCat("twilio: ", object.status().message()));
  return object;
}

std::string StringField(const Struct& object, const char* name) {
  auto it = object.fields().find(name);
  if (it == object.fields().end()) return "";
  if (it->second.kind_case() == Value::kStringValue) return it->second.string_value();
  if (it->second.kind_case() == Value::kNumberValue) {
    return absl::StrCat(static_cast<int64_t>(it->second.number_value()));
  }
  return "";
}

bool BoolField(const Struct& object, const char* name) {
  auto it = object.fields().find(name);
  if (it == object.fields().end()) return false;
  if (it->second.kind_case() == Value::kBoolValue) return it->second.bool_value();
  return it->second.kind_case() == Value::kStringValue && it->second.string_value() == "true";
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

absl::StatusOr<TwilioParticipant> ParseParticipant(absl::string_view body) {
  absl::StatusOr<Struct> json = ParseAnswer(body);
  if (!json.ok()) return json.status();
  TwilioParticipant participant;
  participant.call_sid = StringField(*json, "call_sid");
  participant.conference_sid = StringField(*json, "conference_sid");
  participant.label = StringField(*json, "label");
  participant.hold = BoolField(*json, "hold");
  participant.muted = BoolField(*json, "muted");
  participant.status = StringField(*json, "status");
  return participant;
}

absl::StatusOr<TwilioCall> ParseCall(absl::string_view body) {
  absl::StatusOr<Struct> json = ParseAnswer(body);
  if (!json.ok()) return json.status();
  TwilioCall call;
  call.sid = StringField(*json, "sid");
  call.status = StringField(*json, "status");
  if (call.sid.empty()) return absl::InternalError("twilio's call answer has no sid");
  return call;
}

}  // namespace

std::string PercentEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

std::string FormEncode(const FormFields& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    absl::StrAppend(&out, PercentEncode(name), "=", PercentEncode(value));
  }
  return out;
}

absl::Status TwilioErrorStatus(long http_status, absl::string_view body) {
  std::string code;
  std::string message;
  std::string more_info;
  if (absl::StatusOr<Struct> json = ParseAnswer(body); json.ok()) {
    code = StringField(*json, "code");
    message = StringField(*json, "message");
    more_info = StringField(*json, "more_info");
  }
  if (message.empty()) message = std::string(body.substr(0, 200));
  std::string text = absl::StrCat("twilio error ", code.empty() ? "(no code)" : code, " (HTTP ",
                                  http_status, "): ", message);
  if (!more_info.empty()) absl::StrAppend(&text, " (", more_info, ")");
  if (code == "21220") return absl::FailedPreconditionError(text);
  if (http_status == 400 || http_status == 422) return absl::InvalidArgumentError(text);
  if (http_status == 401 || http_status == 403) return absl::InternalError(text);
  if (http_status == 404) return absl::NotFoundError(text);
  if (http_status == 409) return absl::AbortedError(text);
  if (http_status == 429) return absl::ResourceExhaustedError(text);
  if (http_status >= 500) return absl::UnavailableError(text);
  return absl::UnknownError(text);
}

TwilioClient::TwilioClient(HttpClient& http, TwilioClientOptions options)
    : http_(http), options_(std::move(options)) {}

absl::StatusOr<std::string> TwilioClient::Send(absl::string_view method, absl::string_view path,
                                               const FormFields& fields, Retry retry,
                                               absl::Time deadline) {
  HttpRequest request;
  request.method = std::string(method);
  request.url =
      absl::StrCat(options_.base_url, "/2010-04-01/Accounts/", options_.account_sid, path);
  if (method == "GET") {
    if (!fields.empty()) absl::StrAppend(&request.url, "?", FormEncode(fields));
  } else if (method == "POST") {
    request.body = FormEncode(fields);
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  }
  request.headers.emplace_back("Accept", "application/json");
  request.headers.emplace_back("Accept-Charset", "utf-8");
  request.headers.emplace_back("User-Agent", "livecall-call-control");
  request.basic_auth = absl::StrCat(options_.username, ":", options_.password);

  thread_local absl::BitGen random;
  for (int attempt = 0;; ++attempt) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("twilio ", method, " ", path, ": no answer within the time left"));
    }
    request.timeout = std::min(options_.timeout, left);
    request.connect_timeout = std::min(options_.connect_timeout, left);
    absl::StatusOr<HttpResponse> response = http_.Send(request);
    absl::Status status;
    bool retryable = false;
    if (!response.ok()) {
      status = absl::Status(
          response.status().code(),
          absl::StrCat("twilio ", method, " ", path, ": ", response.status().message()));
      // Whether a request that failed in transit reached Twilio is unknown: repeat only what
      // is safe to repeat.
      retryable = retry == Retry::kSafe && absl::IsUnavailable(response.status());
    } else if (response->status >= 200 && response->status < 300) {
      return std::move(response->body);
    } else {
      status = TwilioErrorStatus(response->status, response->body);
      retryable = response->status == 429 || (retry == Retry::kSafe && response->status >= 500);
    }
    if (!retryable || attempt >= options_.max_retries) return status;
    const absl::Duration cap =
        std::min(options_.max_backoff, options_.initial_backoff * std::pow(2.0, attempt));
    const absl::Duration delay =
        absl::Milliseconds(absl::Uniform(random, 0.0, absl::ToDoubleMilliseconds(cap)));
    if (absl::Now() + delay >= deadline) return status;
    LogWarning("twilio request failed; retrying", {{"method", std::string(method)},
                                                   {"path", std::string(path)},
                                                   {"attempt", absl::StrCat(attempt + 1)},
                                                   {"error", status.ToString()}});
    absl::SleepFor(delay);
  }
}

absl::StatusOr<TwilioCall> TwilioClient::CreateCall(const FormFields& fields) {
  absl::StatusOr<std::string> body =
      Send("POST", "/Calls.json", fields, Retry::kOnlyTooManyRequests);
  if (!body.ok()) return body.status();
  return ParseCall(*body);
}

absl::StatusOr<TwilioCall> TwilioClient::UpdateCall(absl::string_view call_sid,
                                                    const FormFields& fields) {
  absl::StatusOr<std::string> body =
      Send("POST", absl::StrCat("/Calls/", PercentEncode(call_sid), ".json"), fields, Retry::kSafe);
  if (!body.ok()) return body.status();
  return ParseCall(*body);
}

absl::StatusOr<TwilioParticipant> TwilioClient::CreateParticipant(absl::string_view conference,
                                                                  const FormFields& fields,
                                                                  absl::Time deadline) {
  absl::StatusOr<std::string> body =
      Send("POST", absl::StrCat("/Conferences/", PercentEncode(conference), "/Participants.json"),
           fields, Retry::kOnlyTooManyRequests, deadline);
  if (!body.ok()) return body.status();
  return ParseParticipant(*body);
}

absl::StatusOr<TwilioParticipant> TwilioClient::UpdateParticipant(absl::string_view conference_sid,
                                                                  absl::string_view call_sid,
                                                                  const FormFields& fields) {
  absl::StatusOr<std::string> body =
      Send("POST",
           absl::StrCat("/Conferences/", PercentEncode(conference_sid), "/Participants/",
                        PercentEncode(call_sid), ".json"),
           fields, Retry::kSafe);
  if (!body.ok()) return body.status();
  return ParseParticipant(*body);
}

absl::Status TwilioClient::DeleteParticipant(absl::string_view conference_sid,
                                             absl::string_view call_sid) {
  return Send("DELETE",
              absl::StrCat("/Conferences/", PercentEncode(conference_sid), "/Participants/",
                           PercentEncode(call_sid), ".json"),
              {}, Retry::kSafe)
      .status();
}

absl::Status TwilioClient::UpdateConference(absl::string_view conference_sid,
                                            const FormFields& fields) {
  return Send("POST", absl::StrCat("/Conferences/", PercentEncode(conference_sid), ".json"), fields,
              Retry::kSafe)
      .status();
}

absl::StatusOr<std::optional<std::string>> TwilioClient::FindConference(
    absl::string_view friendly_name) {
  absl::StatusOr<std::string> body =
      Send("GET", "/Conferences.json",
           {{"FriendlyName", std::string(friendly_name)}, {"Status", "in-progress"}}, Retry::kSafe);
  if (!body.ok()) return body.status();
  absl::StatusOr<Struct> json = ParseAnswer(*body);
  if (!json.ok()) return json.status();
  auto it = json->fields().find("conferences");
  if (it == json->fields().end() || it->second.kind_case() != Value::kListValue) {
    return std::optional<std::string>();
  }
  for (const Value& conference : it->second.list_value().values()) {
    if (conference.kind_case() != Value::kStructValue) continue;
    std::string sid = StringField(conference.struct_value(), "sid");
    if (!sid.empty()) return std::optional<std::string>(std::move(sid));
  }
  return std::optional<std::string>();
}

}  // namespace livecall::call_control
