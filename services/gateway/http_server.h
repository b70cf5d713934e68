#ifndef LIVECALL_SERVICES_GATEWAY_HTTP_SERVER_H_
#define LIVECALL_SERVICES_GATEWAY_HTTP_SERVER_H_

// The HTTP/1.1 listener and its connections, on Boost.Beast's async API (cpp-style §4):
//  - one io_context per I/O thread (`threads`), each run by that thread alone; a connection lives
//    on one, on its own strand; a handler's answer, which arrives on another thread (the backend
//    client's), takes the connection there when it is idle, else is posted to that strand;
//  - keep-alive and pipelining: requests are read ahead (up to a small limit) and their answers
//    written strictly in request order from a queue, one async_write at a time;
//  - each request gets a fresh parser with a deliberate body limit (413) and header limit (431);
//    an idle or slow client is cut off by a read timeout; need_eof()/keep_alive() are honoured;
//  - an exception from a handler answers 500 and closes that connection only;
//  - a streamed answer (Server-Sent Events) takes the connection over: response_stream.h.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/gateway/http_response.h"

namespace livecall::gateway {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponder = std::function<void(HttpResponse)>;

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Runs on the connection's strand and must not block. `request` is valid only during the call.
  // `respond` must be called exactly once, from any thread, now or later. `client_ip` is the TCP
  // peer's address ("127.0.0.1", "::1").
  virtual void Handle(const HttpRequest& request, const std::string& request_id,
                      const std::string& client_ip, HttpResponder respond) = 0;
};

struct HttpServerOptions {
  std::string address = "0.0.0.0:8080";  // host:port; port 0 picks a free one.
  int threads = 2;
  uint64_t body_limit = 65536;
  uint32_t header_limit = 16 * 1024;
  // How long a connection may sit reading one request (or idle between requests) while none of
  // its requests is being answered.
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration write_timeout = absl::Seconds(30);
  // Requests read ahead of their answers on one connection.
  size_t max_pipelined = 8;
  // Streamed bytes not yet written to a slow reader, per connection and over all connections;
  // a stream over either is disconnected (an EventSource resumes with Last-Event-ID).
  size_t max_stream_pending_bytes = 1 << 20;
  size_t max_total_stream_pending_bytes = 64 << 20;
};

// 1-128 printable ASCII characters without spaces: safe to echo and to send as gRPC metadata.
bool IsValidRequestId(absl::string_view id);

// The bytes of a complete (not streamed) answer as the connection writes them: status line,
// Content-Type, Cache-Control, X-Request-Id, the handler's headers (each replacing an earlier one
// of the same name), Connection when the version needs it, Content-Length, then the body (none
// for HEAD). Byte for byte what Beast writes for the same answer (http_server_test.cc holds it
// so); written by hand because Beast's fields and serializer cost a few thousand instructions
// and an allocation per header on every request. Sets `close` when the connection must close
// after it. Throws std::invalid_argument where Beast does (a body on a 204 or 304).
std::string ResponseBytes(HttpResponse answer, unsigned version, absl::string_view request_id,
                          bool keep_alive, bool is_head, bool* close);

// The connection's request path without a socket, for the fuzz target (tests/fuzz): `bytes` are
// read as a connection reads them — the same parser limits, pipelined requests in order, a
// framing error answered (400, 413, 431) and the rest dropped, Connection: close honoured — and
// each request goes to `handler`. Returns the wire form of each answer given before `handler`
// returned, in order. Streamed answers are written as their head only.
std::vector<std::string> ServeRawRequests(const HttpServerOptions& options, HttpHandler* handler,
                                          absl::string_view bytes);

class HttpServer {
 public:
  // `handler` must outlive the server.
  HttpServer(HttpServerOptions options, HttpHandler* handler);
  // Shuts down (without grace) if Shutdown() was not called.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. UNAVAILABLE when the address cannot be bound.
  absl::Status Start();
  // The bound port (useful with port 0); 0 before Start().
  int port() const { return port_; }

  // Stops accepting, lets open connections answer what they have read for up to `grace`, closes
  // them, and joins the I/O threads.
  void Shutdown(absl::Duration grace);

  struct State;
  class Listener;

 private:
  const HttpServerOptions options_;
  std::shared_ptr<State> state_;
  std::shared_ptr<Listener> listener_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_HTTP_SERVER_H_
