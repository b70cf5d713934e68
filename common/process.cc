#include "common/process.h"

#include "absl/synchronization/mutex.h"

namespace livecall {

void TurnOffMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace livecall
