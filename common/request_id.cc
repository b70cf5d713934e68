#include "common/request_id.h"

namespace livecall {
namespace {

thread_local std::string current_request_id;

}  // namespace

std::string RequestIdOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kRequestIdMetadata);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

const std::string& CurrentRequestId() { return current_request_id; }

ScopedRequestId::ScopedRequestId(std::string request_id)
    : previous_(std::exchange(current_request_id, std::move(request_id))) {}

ScopedRequestId::~ScopedRequestId() { current_request_id = std::move(previous_); }

}  // namespace livecall
