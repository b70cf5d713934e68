#ifndef LIVECALL_COMMON_PROCESS_H_
#define LIVECALL_COMMON_PROCESS_H_

// Process-wide settings every service's main() applies first, before it starts any thread.

namespace livecall {

// Debian's Abseil is built without NDEBUG, so by default every absl::Mutex lock (gRPC's own locks
// included) also updates a process-wide lock-order graph behind one global lock: about 390
// instructions per lock and unlock instead of about 85 (callgrind, bench/README.md), and a point
// where all threads meet. The services turn it off; the unit tests keep it, where it catches
// lock-order inversions.
void TurnOffMutexDeadlockDetection();

}  // namespace livecall

#endif  // LIVECALL_COMMON_PROCESS_H_
