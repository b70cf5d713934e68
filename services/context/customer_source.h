#ifndef LIVECALL_SERVICES_CONTEXT_CUSTOMER_SOURCE_H_
#define LIVECALL_SERVICES_CONTEXT_CUSTOMER_SOURCE_H_

// Where customer context comes from: the CRM (LIVECALL_CRM_LOOKUP_URL) when configured, else the
// embedded directory file. The CRM is reached through a Redis cache that also keeps the last copy
// for when the CRM is down: a call never fails because of the CRM.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http_client.h"
#include "common/redis_pool.h"
#include "livecall/v1/context.pb.h"
#include "services/context/customer_directory.h"

namespace livecall::context {

class CustomerSource {
 public:
  virtual ~CustomerSource() = default;
  // The customer with this E.164 number; nullopt when the source has none. Errors only when the
  // source could not answer (the caller decides what the caller sees).
  virtual absl::StatusOr<std::optional<livecall::v1::Customer>> Find(const std::string& e164) = 0;
};

class DirectorySource final : public CustomerSource {
 public:
  explicit DirectorySource(const CustomerDirectory& directory) : directory_(directory) {}
  absl::StatusOr<std::optional<livecall::v1::Customer>> Find(const std::string& e164) override {
    return directory_.Find(e164);
  }

 private:
  const CustomerDirectory& directory_;
};

struct CrmOptions {
  // "https://crm.example/api/customers?phone={phone}"; {phone} is the URL-encoded E.164 number.
  std::string lookup_url_template;
  std::string api_key;  // Sent as a Bearer token when set.
  absl::Duration timeout = absl::Milliseconds(1500);
  absl::Duration fresh_for = absl::Minutes(5);    // A cached copy younger than this is used as is.
  absl::Duration keep_for = absl::Hours(24 * 7);  // How long a copy is kept for CRM outages.
};

// The CRM lookup over HTTP: 200 with a customer JSON object (our Customer or CustomerRecord
// field names; unknown fields ignored), 404 for an unknown number. Anything else is UNAVAILABLE.
class CrmSource final : public CustomerSource {
 public:
  CrmSource(HttpClient& http, CrmOptions options) : http_(http), options_(std::move(options)) {}
  absl::StatusOr<std::optional<livecall::v1::Customer>> Find(const std::string& e164) override;

 private:
  HttpClient& http_;
  const CrmOptions options_;
};

// Any source behind a Redis cache: fresh copies are served from Redis; when the source fails,
// the last copy is served marked stale; with no copy, the error is returned.
class CachedSource final : public CustomerSource {
 public:
  CachedSource(CustomerSource& source, RedisPool& redis, absl::Duration fresh_for,
               absl::Duration keep_for)
      : source_(source), redis_(redis), fresh_for_(fresh_for), keep_for_(keep_for) {}
  absl::StatusOr<std::optional<livecall::v1::Customer>> Find(const std::string& e164) override;

 private:
  CustomerSource& source_;
  RedisPool& redis_;
  const absl::Duration fresh_for_;
  const absl::Duration keep_for_;
};

// Key of the cached CRM answer for a number: STRING, serialized livecall.v1.Customer with
// cached_at set (known=false records an unknown number), TTL keep_for.
std::string CrmCacheKey(const std::string& e164);

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CUSTOMER_SOURCE_H_
