#include "services/context/customer_directory.h"

#include "absl/strings/str_cat.h"
#include "common/json_file.h"
#include "common/language.h"
#include "common/phone_number.h"

namespace livecall::context {

absl::StatusOr<CustomerDirectory> CustomerDirectory::FromRecords(
    const livecall::v1::CustomerRecordList& list) {
  CustomerDirectory directory;
  for (int i = 0; i < list.records_size(); ++i) {
    const livecall::v1::CustomerRecord& record = list.records(i);
    absl::StatusOr<std::string> e164 = NormalizePhoneNumber(record.phone());
    if (!e164.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer #", i + 1, ": ", e164.status().message()));
    }
    std::string language = DefaultLanguageForNumber(*e164);
    if (!record.language().empty()) {
      absl::StatusOr<std::string> parsed = ParseLanguage(record.language());
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("customer #", i + 1, ": ", parsed.status().message()));
      }
      language = *std::move(parsed);
    }
    livecall::v1::Customer customer;
    customer.set_phone_number(*e164);
    customer.set_name(record.name());
    customer.set_language(language);
    customer.mutable_attributes()->insert(record.attributes().begin(), record.attributes().end());
    customer.mutable_notes()->CopyFrom(record.notes());
    customer.set_known(true);
    customer.set_source("directory");
    if (!directory.customers_.emplace(*e164, std::move(customer)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer #", i + 1, ": ", *e164, " appears twice"));
    }
  }
  return directory;
}

absl::StatusOr<CustomerDirectory> CustomerDirectory::Load(const std::string& path) {
  livecall::v1::CustomerRecordList list;
  if (absl::Status status = ParseJsonArrayFile(path, "records", &list); !status.ok()) {
    return status;
  }
  absl::StatusOr<CustomerDirectory> directory = FromRecords(list);
  if (!directory.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", directory.status().message()));
  }
  return directory;
}

std::optional<livecall::v1::Customer> CustomerDirectory::Find(const std::string& e164) const {
  auto it = customers_.find(e164);
  if (it == customers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace livecall::context
