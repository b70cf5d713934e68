#include "services/context/customer_source.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/language.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "livecall/v1/data_files.pb.h"

namespace livecall::context {
namespace {

std::string UrlEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, absl::StrFormat("%%%02X", c));  // RFC 3986: upper-case hex.
    }
  }
  return out;
}

// A CRM answer in our Customer shape, or in the customers file's shape (phone instead of
// phone_number). Fields we do not know are the CRM's own business and are ignored.
absl::StatusOr<livecall::v1::Customer> ParseCrmCustomer(const std::string& json,
                                                        const std::string& e164) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  livecall::v1::CustomerRecord record;
  if (!google::protobuf::util::JsonStringToMessage(json, &record, options).ok()) {
    return absl::UnavailableError("crm answered with something that is not a customer object");
  }
  livecall::v1::Customer customer;
  customer.set_phone_number(e164);
  customer.set_name(record.name());
  // A CRM may spell the language as a BCP-47 tag ("ru-RU"); one the suite does not speak
  // falls back to the number's.
  customer.set_language(ParseLanguage(record.language()).value_or(DefaultLanguageForNumber(e164)));
  customer.mutable_attributes()->insert(record.attributes().begin(), record.attributes().end());
  *customer.mutable_notes() = record.notes();
  customer.set_known(true);
  customer.set_source("crm");
  return customer;
}

}  // namespace

std::string CrmCacheKey(const std::string& e164) { return absl::StrCat("livecall:crm:", e164); }

absl::StatusOr<std::optional<livecall::v1::Customer>> CrmSource::Find(const std::string& e164) {
  HttpRequest request;
  request.url = absl::StrReplaceAll(options_.lookup_url_template, {{"{phone}", UrlEncode(e164)}});
  request.timeout = options_.timeout;
  request.connect_timeout = std::min(options_.timeout, absl::Seconds(1));
  request.headers = {{"Accept", "application/json"}};
  if (!options_.api_key.empty()) {
    request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  absl::StatusOr<HttpResponse> response = http_.Send(request);
  if (!response.ok()) return response.status();
  if (response->status == 404) return std::nullopt;
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat("crm answered HTTP ", response->status));
  }
  absl::StatusOr<livecall::v1::Customer> customer = ParseCrmCustomer(response->body, e164);
  if (!customer.ok()) return customer.status();
  return *std::move(customer);
}

absl::StatusOr<std::optional<livecall::v1::Customer>> CachedSource::Find(const std::string& e164) {
  const absl::Time now = absl::Now();
  std::optional<livecall::v1::Customer> cached;
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", CrmCacheKey(e164)});
  if (reply.ok() && (*reply)->type == REDIS_REPLY_STRING) {
    livecall::v1::Customer copy;
    if (copy.ParseFromArray((*reply)->str, static_cast<int>((*reply)->len))) cached = copy;
  } else if (!reply.ok()) {
    LogWarning("crm cache unreadable", {{"error", reply.status().ToString()}});
  }
  auto as_answer = [](livecall::v1::Customer customer) -> std::optional<livecall::v1::Customer> {
    if (!customer.known()) return std::nullopt;  // A cached "no such customer".
    return customer;
  };
  if (cached.has_value() && now - FromProtoTimestamp(cached->cached_at()) < fresh_for_) {
    return as_answer(*cached);
  }
  absl::StatusOr<std::optional<livecall::v1::Customer>> fresh = source_.Find(e164);
  if (!fresh.ok()) {
    if (!cached.has_value()) return fresh.status();
    LogWarning("crm unavailable; serving the cached copy",
               {{"phone", e164}, {"error", fresh.status().ToString()}});
    cached->set_stale(true);
    return as_answer(*cached);
  }
  livecall::v1::Customer to_cache;
  if (fresh->has_value()) {
    to_cache = **fresh;
  } else {
    to_cache.set_phone_number(e164);
    to_cache.set_known(false);
  }
  *to_cache.mutable_cached_at() = ToProtoTimestamp(now);
  absl::StatusOr<RedisReply> stored =
      redis_.Command({"SET", CrmCacheKey(e164), to_cache.SerializeAsString(), "EX",
                      absl::StrCat(absl::ToInt64Seconds(keep_for_))});
  if (!stored.ok()) LogWarning("crm cache unwritable", {{"error", stored.status().ToString()}});
  if (fresh->has_value()) (*fresh)->set_stale(false);
  return fresh;
}

}  // namespace livecall::context
