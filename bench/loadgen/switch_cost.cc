// What one thread switch costs on this machine: two processes pinned to the same core pass a byte
// back and forth through pipes, so every hop is a wake-up and a switch. On a virtual machine this
// is often many times a bare-metal figure, and a request's CPU across the suite is then dominated
// by how many switches it takes (bench/README.md). Prints "switch_us=…" (one switch, µs).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 50000;
  int to_child[2];
  int to_parent[2];
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
    std::perror("pipe");
    return 1;
  }
  char byte = 'x';
  const auto start = std::chrono::steady_clock::now();
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    for (int i = 0; i < rounds; ++i) {
      if (read(to_child[0], &byte, 1) != 1 || write(to_parent[1], &byte, 1) != 1) _exit(1);
    }
    _exit(0);
  }
  for (int i = 0; i < rounds; ++i) {
    if (write(to_child[1], &byte, 1) != 1 || read(to_parent[0], &byte, 1) != 1) {
      std::fprintf(stderr, "switch_cost: the other side stopped\n");
      return 1;
    }
  }
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  int status = 0;
  waitpid(child, &status, 0);
  // Two switches per round: there and back.
  std::printf("switch_us=%.2f rounds=%d\n", us / rounds / 2, rounds);
  return 0;
}
