#ifndef LIVECALL_TESTS_FAKES_FAKE_HTTP_SERVER_H_
#define LIVECALL_TESTS_FAKES_FAKE_HTTP_SERVER_H_

// A real HTTP/1.1 server on 127.0.0.1 (a free port) whose answers a test scripts: the remote
// systems we cannot reach from here (an LLM, a CRM, Twilio's REST API) are played by it, slowness
// and failures included. Each connection gets its own thread; keep-alive is honoured. Records
// every request it received.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace livecall::fakes {

struct FakeRequest {
  std::string method;
  std::string target;                          // Path and query, as sent.
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;
};

struct FakeResponse {
  int status = 200;
  std::map<std::string, std::string> headers = {{"content-type", "application/json"}};
  // Sent in order; with more than one chunk the body is sent chunked, waiting `chunk_delay`
  // before each chunk after the first (a streaming LLM, a slow CRM).
  std::vector<std::string> chunks;
  absl::Duration delay_before_headers = absl::ZeroDuration();
  absl::Duration chunk_delay = absl::ZeroDuration();
  // Close the connection without answering (a server that died mid-request).
  bool drop_connection = false;
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  absl::Status Start();
  void Stop();

  int port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:<port>"
  std::vector<FakeRequest> requests() const;
  int connections_accepted() const { return connections_accepted_.load(); }

 private:
  struct Impl;
  Handler handler_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<int> connections_accepted_{0};
  mutable absl::Mutex mu_;
  std::vector<FakeRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecall::fakes

#endif  // LIVECALL_TESTS_FAKES_FAKE_HTTP_SERVER_H_
