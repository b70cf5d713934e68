#include "tests/support/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace livecall::testing {
namespace {

// Ports below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by
// default): a port from that range, once handed out and closed, could be taken by any process's
// outgoing connection or bind(0) before our server binds it ("Address already in use" now and
// then with many tests in parallel). Below the range only another test picking the same number
// can take it; each process starts in its own block of kBlock ports (by pid) to make that rare.
constexpr int kLowestPort = 20000;
constexpr int kBlock = 100;

int EphemeralRangeStart() {
  int low = 32768;
  if (FILE* range = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(range, "%d", &low) != 1) low = 32768;
    std::fclose(range);
  }
  return low;
}

// True when nothing listens on (or is bound to) 127.0.0.1:`port` right now.
bool CanBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address;
  std::memset(&address, 0, sizeof(address));
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return bound;
}

int BindEphemeralPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address;
  std::memset(&address, 0, sizeof(address));
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  int port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace

int FreeTcpPort() {
  static absl::Mutex mutex(absl::kConstInit);
  static auto* handed_out ABSL_GUARDED_BY(mutex) = new absl::flat_hash_set<int>();
  static int next ABSL_GUARDED_BY(mutex) = -1;
  absl::MutexLock lock(&mutex);
  const int ports_below = EphemeralRangeStart() - kLowestPort;
  if (ports_below >= kBlock) {
    if (next < 0) next = static_cast<int>(getpid()) % (ports_below / kBlock) * kBlock;
    for (int tried = 0; tried < ports_below; ++tried) {
      const int port = kLowestPort + next;
      next = (next + 1) % ports_below;
      if (!handed_out->contains(port) && CanBind(port)) {
        handed_out->insert(port);
        return port;
      }
    }
  }
  // A machine whose ephemeral range starts low: the kernel's pick.
  for (int attempt = 0; attempt < 100; ++attempt) {
    int port = BindEphemeralPort();
    if (port != 0 && handed_out->insert(port).second) return port;
  }
  std::cerr << "FreeTcpPort: no free port on 127.0.0.1\n";
  std::abort();
}

}  // namespace livecall::testing
