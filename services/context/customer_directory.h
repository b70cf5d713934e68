#ifndef LIVECALL_SERVICES_CONTEXT_CUSTOMER_DIRECTORY_H_
#define LIVECALL_SERVICES_CONTEXT_CUSTOMER_DIRECTORY_H_

// The embedded customer directory (LIVECALL_CUSTOMERS_FILE): used when no CRM is configured.
// Loaded once at start-up; immutable afterwards, so lookups need no lock.

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "livecall/v1/context.pb.h"
#include "livecall/v1/data_files.pb.h"

namespace livecall::context {

class CustomerDirectory {
 public:
  // Every record's phone must be a valid number and appear once; the error names the record.
  static absl::StatusOr<CustomerDirectory> FromRecords(
      const livecall::v1::CustomerRecordList& list);
  static absl::StatusOr<CustomerDirectory> Load(const std::string& path);

  // The customer with this E.164 number, if the directory has one.
  std::optional<livecall::v1::Customer> Find(const std::string& e164) const;
  size_t size() const { return customers_.size(); }

 private:
  absl::flat_hash_map<std::string, livecall::v1::Customer> customers_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CUSTOMER_DIRECTORY_H_
