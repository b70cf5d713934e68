#ifndef LIVECALL_COMMON_BOUNDED_CACHE_H_
#define LIVECALL_COMMON_BOUNDED_CACHE_H_

// A thread-safe string-keyed cache of at most `capacity` entries, for answers that never change
// for a key (a phone number's E.164 form, a session's call). Two generations instead of an LRU
// list: new entries go into the current one; when it holds capacity/2 it becomes the previous one
// and the oldest generation is dropped; a hit in the previous generation moves the entry back into
// the current one. So what is used keeps its place, what is not ages out, and a lookup is one or
// two hash probes under a lock held for nothing longer.

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace livecall {

template <typename Value>
class BoundedCache {
 public:
  explicit BoundedCache(size_t capacity) : generation_size_(capacity < 2 ? 1 : capacity / 2) {}

  std::optional<Value> Find(absl::string_view key) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (auto it = current_.find(key); it != current_.end()) return it->second;
    auto old = previous_.find(key);
    if (old == previous_.end()) return std::nullopt;
    Value value = old->second;
    InsertLocked(std::string(key), value);
    return value;
  }

  void Insert(absl::string_view key, Value value) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    InsertLocked(std::string(key), std::move(value));
  }

  // Entries held, both generations (a key in both counts twice): at most the capacity.
  size_t size() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return current_.size() + previous_.size();
  }

 private:
  void InsertLocked(std::string key, Value value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (current_.size() >= generation_size_) {
      previous_ = std::move(current_);
      current_.clear();
    }
    current_.insert_or_assign(std::move(key), std::move(value));
  }

  const size_t generation_size_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Value> current_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Value> previous_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_BOUNDED_CACHE_H_
