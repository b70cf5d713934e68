#include "tests/support/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace livecall::testing {
namespace {

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
  absl::MutexLock lock(&mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int port = BindEphemeralPort();
    if (port != 0 && handed_out->insert(port).second) return port;
  }
  std::cerr << "FreeTcpPort: no free port on 127.0.0.1\n";
  std::abort();
}

}  // namespace livecall::testing
