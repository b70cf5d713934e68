#ifndef LIVECALL_TESTS_UNIT_GATEWAY_RELEASE_WITNESS_H_
#define LIVECALL_TESTS_UNIT_GATEWAY_RELEASE_WITNESS_H_

// Shows whether gRPC released a call's completion before or after the call's owner was gone.
// gRPC destroys a completion on its own thread after the completion ran; a completion that
// captures `token()` holds it until then. The token's release waits (up to `grace`) for
// OwnerGone(): if the owner's destructor returned without waiting for gRPC, OwnerGone() comes
// first and released_after_owner() is true — the object-lifetime bug behind
// "ref_counted.h: prior > 0" at exit.

#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace livecall::gateway::testing {

class ReleaseWitness {
 public:
  explicit ReleaseWitness(absl::Duration grace = absl::Milliseconds(500)) : grace_(grace) {}

  std::shared_ptr<void> token() {
    return std::shared_ptr<void>(nullptr, [this](void*) {
      released_after_owner_ = owner_gone_.WaitForNotificationWithTimeout(grace_);
      released_.Notify();
    });
  }

  void OwnerGone() { owner_gone_.Notify(); }

  // Waits for the token's release.
  bool released_after_owner() {
    released_.WaitForNotification();
    return released_after_owner_;
  }

 private:
  const absl::Duration grace_;
  absl::Notification owner_gone_;
  absl::Notification released_;
  bool released_after_owner_ = false;
};

}  // namespace livecall::gateway::testing

#endif  // LIVECALL_TESTS_UNIT_GATEWAY_RELEASE_WITNESS_H_
