#ifndef LIVECALL_TESTS_SUPPORT_FREE_PORT_H_
#define LIVECALL_TESTS_SUPPORT_FREE_PORT_H_

namespace livecall::testing {

// A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range
// (so no outgoing connection can take it before the server binds it; see free_port.cc). The same
// process never gets the same port twice, so the several servers of one test cannot collide
// with each other.
int FreeTcpPort();

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_FREE_PORT_H_
