#include "services/gateway/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <sstream>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "services/gateway/error_response.h"
#include "services/gateway/response_stream.h"
#include "services/gateway/url.h"

namespace livecall::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

class Session;

// Every live connection, so Shutdown() can ask each to finish and wait until all are gone.
class SessionRegistry {
 public:
  void Add(Session* session, std::weak_ptr<Session> weak) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    sessions_.emplace(session, std::move(weak));
  }
  void Remove(Session* session) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    sessions_.erase(session);
  }
  std::vector<std::shared_ptr<Session>> Snapshot() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::vector<std::shared_ptr<Session>> live;
    for (auto& [raw, weak] : sessions_) {
      if (std::shared_ptr<Session> session = weak.lock()) live.push_back(std::move(session));
    }
    return live;
  }
  // True when the last connection went away within `timeout`.
  bool WaitEmpty(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto empty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sessions_.empty(); };
    return mu_.AwaitWithTimeout(absl::Condition(&empty), timeout);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<Session*, std::weak_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
};

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

absl::string_view View(beast::string_view text) { return {text.data(), text.size()}; }

bool IsHttpParseError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_method).category();
}

// The request path's pieces that do not touch a socket, shared by the connection and by
// ServeRawRequests (the fuzz target's entry point), so both parse and answer alike.

void ConfigureRequestParser(const HttpServerOptions& options,
                            http::request_parser<http::string_body>* parser) {
  parser->body_limit(options.body_limit);
  parser->header_limit(options.header_limit);
}

// A read error that is a framing error of the request deserves an answer (then the connection
// closes); any other (the client went away, a partial message) does not.
bool DeservesAnswer(const beast::error_code& ec) {
  return IsHttpParseError(ec) && ec != http::error::partial_message;
}

// The answer to a request that cannot be framed.
HttpResponse FramingErrorResponse(const beast::error_code& ec, const HttpServerOptions& options) {
  if (ec == http::error::body_limit) {
    return HttpErrorResponse(
        413, "PAYLOAD_TOO_LARGE",
        absl::StrCat("request body is larger than ", options.body_limit, " bytes"));
  }
  if (ec == http::error::header_limit) {
    return HttpErrorResponse(
        431, "REQUEST_HEADER_FIELDS_TOO_LARGE",
        absl::StrCat("request header is larger than ", options.header_limit, " bytes"));
  }
  return HttpErrorResponse(400, "INVALID_ARGUMENT",
                           absl::StrCat("malformed HTTP request: ", ec.message()));
}

// The client's X-Request-Id when it is well formed, else a new one.
std::string ChooseRequestId(const HttpRequest& request) {
  const auto id_header = request.find("x-request-id");
  return id_header != request.end() && IsValidRequestId(View(id_header->value()))
             ? std::string(id_header->value())
             : NewRequestId();
}

// Status, content type, caching and the handler's headers of a response.
http::response<http::string_body> ResponseHead(const HttpResponse& answer, unsigned version,
                                               const std::string& request_id) {
  http::response<http::string_body> response;
  response.version(version);
  response.result(static_cast<unsigned>(answer.status));
  // Beast knows no reason phrase for nginx's 499 (client closed request).
  if (answer.status == 499) response.reason("Client Closed Request");
  response.set(http::field::content_type, answer.content_type);
  response.set(http::field::cache_control, answer.stream ? "no-cache" : "no-store");
  response.set("X-Request-Id", request_id);
  for (const auto& [name, value] : answer.headers) response.set(name, value);
  return response;
}

// Body, length and keep-alive of a complete (not streamed) response.
void FinishResponse(HttpResponse answer, bool keep_alive, bool is_head,
                    http::response<http::string_body>* response) {
  response->keep_alive(keep_alive);
  response->body() = std::move(answer.body);
  response->prepare_payload();
  // An answer to HEAD announces its length but carries no body, or the client would read the
  // body as the start of the next response.
  if (is_head) response->body().clear();
}

// Beast's ResponseHead + FinishResponse, serialized: what ResponseBytes falls back to for what
// it does not write itself.
std::string BeastResponseBytes(HttpResponse answer, unsigned version, absl::string_view request_id,
                               bool keep_alive, bool is_head, bool* close) {
  http::response<http::string_body> response =
      ResponseHead(answer, version, std::string(request_id));
  FinishResponse(std::move(answer), keep_alive, is_head, &response);
  *close = response.need_eof();
  http::response_serializer<http::string_body> serializer(response);
  std::string wire;
  beast::error_code ec;
  while (!serializer.is_done()) {
    serializer.next(ec, [&](beast::error_code&, const auto& buffers) {
      for (const auto buffer : beast::buffers_range_ref(buffers)) {
        wire.append(static_cast<const char*>(buffer.data()), buffer.size());
      }
      serializer.consume(beast::buffer_bytes(buffers));
    });
  }
  return wire;
}

// Headers whose value Beast's keep_alive() and prepare_payload() rewrite.
bool IsFramingHeader(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "Connection") ||
         absl::EqualsIgnoreCase(name, "Content-Length") ||
         absl::EqualsIgnoreCase(name, "Transfer-Encoding");
}

}  // namespace

std::string ResponseBytes(HttpResponse answer, unsigned version, absl::string_view request_id,
                          bool keep_alive, bool is_head, bool* close) {
  const int status = answer.status;
  // What Beast treats specially (no body allowed, an unusual version, framing headers set by the
  // handler) is left to Beast.
  bool simple = (version == 10 || version == 11) && status >= 200 && status <= 999 &&
                status != 204 && status != 304;
  for (const auto& [name, value] : answer.headers) simple = simple && !IsFramingHeader(name);
  if (!simple) {
    return BeastResponseBytes(std::move(answer), version, request_id, keep_alive, is_head, close);
  }
  // Beast's set(): a header replaces every earlier one of the same name and goes last.
  absl::InlinedVector<std::pair<absl::string_view, absl::string_view>, 8> fields = {
      {"Content-Type", answer.content_type},
      {"Cache-Control", answer.stream ? "no-cache" : "no-store"},
      {"X-Request-Id", request_id}};
  for (const auto& [name, value] : answer.headers) {
    fields.erase(std::remove_if(fields.begin(), fields.end(),
                                [&name = name](const auto& field) {
                                  return absl::EqualsIgnoreCase(field.first, name);
                                }),
                 fields.end());
    fields.emplace_back(name, value);
  }
  const absl::string_view reason =
      status == 499 ? absl::string_view("Client Closed Request")
                    : View(http::obsolete_reason(static_cast<http::status>(status)));
  std::string wire;
  wire.reserve(256 + (is_head ? 0 : answer.body.size()));
  const char status_line[] = {'H',
                              'T',
                              'T',
                              'P',
                              '/',
                              static_cast<char>('0' + version / 10),
                              '.',
                              static_cast<char>('0' + version % 10),
                              ' ',
                              static_cast<char>('0' + status / 100),
                              static_cast<char>('0' + status / 10 % 10),
                              static_cast<char>('0' + status % 10),
                              ' '};
  wire.append(status_line, sizeof(status_line));
  absl::StrAppend(&wire, reason, "\r\n");
  for (const auto& [name, value] : fields) absl::StrAppend(&wire, name, ": ", value, "\r\n");
  if (version == 11 && !keep_alive) wire.append("Connection: close\r\n");
  if (version == 10 && keep_alive) wire.append("Connection: keep-alive\r\n");
  absl::StrAppend(&wire, "Content-Length: ", answer.body.size(), "\r\n\r\n");
  if (!is_head) wire.append(answer.body);
  *close = !keep_alive;
  return wire;
}

// What the listener and every connection share. Connections hold it, and with it the
// io_contexts, so a late gRPC completion never touches a destroyed io_context.
struct HttpServer::State {
  explicit State(int threads) {
    // Concurrency hint 1: each is run by one thread alone.
    for (int i = 0; i < std::max(1, threads); ++i) {
      io_contexts.push_back(std::make_shared<net::io_context>(1));
    }
  }
  // The next connection's io_context, round robin.
  net::io_context& NextIoContext() {
    return *io_contexts[next_io_context.fetch_add(1, std::memory_order_relaxed) %
                        io_contexts.size()];
  }

  HttpServerOptions options;
  HttpHandler* handler = nullptr;
  // One io_context per I/O thread, each run by its thread alone; a connection lives on one. A
  // single io_context shared by every thread wakes a second thread for each event it hands out
  // (so that one always waits in epoll): one more thread switch per request (issue 17).
  std::vector<std::shared_ptr<net::io_context>> io_contexts;
  std::atomic<size_t> next_io_context{0};
  SessionRegistry registry;
  std::atomic<bool> draining{false};
  // Streamed bytes queued and not yet written, over every connection.
  std::atomic<size_t> stream_pending_bytes{0};
};

namespace {

// The connection whose state the current thread holds (SessionLock), if any.
thread_local const void* t_locked_session = nullptr;

// One HTTP/1.1 connection. Its I/O completions run on the connection's strand; its state is
// touched only under `mu_` (SessionLock), which the strand's handlers take at once, so an answer
// that arrives on a gRPC thread can take the connection when it is idle and write there and then
// (a non-blocking write: most answers fit the socket's buffer). Posting every answer to the
// strand instead cost a thread wake-up per request (bench/README.md, issue 17). When a strand
// handler holds the connection, the answer is posted as before.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::State> state)
      : state_(std::move(state)), stream_(std::move(socket)), timer_(stream_.get_executor()) {
    beast::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) client_ip_ = peer.address().to_string();
    // Synchronous writes (MaybeWrite) return would_block instead of waiting; asynchronous
    // operations are not affected.
    stream_.socket().non_blocking(true, ec);
  }

  ~Session() { state_->registry.Remove(this); }

  void Start() {
    state_->registry.Add(this, weak_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      const SessionLock lock(self.get());
      self->DoRead();
    });
  }

  // Answer what has been read, then close. A live stream is ended cleanly.
  void Drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      const SessionLock lock(self.get());
      if (self->connection_ == Connection::kStreaming) return self->response_stream_->End();
      if (self->connection_ == Connection::kOpen) self->connection_ = Connection::kClosing;
      self->MaybeFinish();
    });
  }

  void ForceClose() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      const SessionLock lock(self.get());
      self->CloseSocket();
    });
  }

 private:
  // Where the connection is in its life. Reading and writing go on beside it: a request may be
  // read (`parser_` is set) while an answer is written (`writing_`), up to max_pipelined.
  enum class Connection {
    kOpen,       // Reads requests and answers them in order.
    kClosing,    // Reads no more; closes once every queued answer is written.
    kStreaming,  // A streamed answer (response_stream_) owns the socket until it ends.
    kLingering,  // FIN sent; discarding input until the client closes or a short timeout.
    kClosed,
  };

  // One request and, once the handler answers, its response; kept until written.
  struct Exchange {
    HttpRequest request;
    std::string method = "-";
    std::string path = "-";
    unsigned version = 11;
    bool keep_alive = false;
    bool is_head = false;
    std::string request_id;
    absl::Time start = absl::Now();
    // Set once the handler answered: the answer's status, and for a complete answer its bytes
    // (ResponseBytes), written from `written` on.
    bool answered_ready = false;
    int status = 0;
    std::string wire;
    size_t written = 0;
    bool close_after = false;
    // A streamed answer (SSE): `response` is its head, written by a ResponseStream.
    std::optional<http::response<http::string_body>> response;
    std::shared_ptr<StreamBody> stream;
    absl::Time stream_ends_at = absl::InfiniteFuture();
    // Set by the first answer; a second is a handler bug and is dropped.
    std::atomic<bool> answered{false};
  };

  // Holds the connection's state for the current thread; re-entrant (a handler that answers at
  // once, a stream that finishes while the connection closes it).
  class SessionLock {
   public:
    explicit SessionLock(Session* session)
        : mu_(t_locked_session == session ? nullptr : &session->mu_) {
      if (mu_ == nullptr) return;
      mu_->Lock();
      previous_ = t_locked_session;
      t_locked_session = session;
    }
    // Takes a mutex this thread already locked with TryLock().
    SessionLock(Session* session, std::adopt_lock_t) : mu_(&session->mu_) {
      previous_ = t_locked_session;
      t_locked_session = session;
    }
    ~SessionLock() {
      if (mu_ == nullptr) return;
      t_locked_session = previous_;
      mu_->Unlock();
    }
    SessionLock(const SessionLock&) = delete;
    SessionLock& operator=(const SessionLock&) = delete;

   private:
    absl::Mutex* const mu_;
    const void* previous_ = nullptr;
  };

  const HttpServerOptions& options() const { return state_->options; }
  bool reading() const { return parser_.has_value(); }

  void DoRead() {
    if (connection_ != Connection::kOpen || reading() || queue_.size() >= options().max_pipelined) {
      return;
    }
    // Usually a read is already outstanding when an answer is written on another thread; when
    // not (the pipeline was full), the read starts from the strand, as every stream operation.
    if (!OnStrand()) return OnStrandLater([](Session* self) { self->DoRead(); });
    if (state_->draining) {
      connection_ = Connection::kClosing;
      MaybeFinish();
      return;
    }
    parser_.emplace();
    ConfigureRequestParser(options(), &*parser_);
    UpdateReadTimer();
    // Reads are bounded by our own timer (which pauses while a request is being answered), not
    // by the stream's, so a slow backend does not look like a slow client.
    stream_.expires_never();
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
  }

  void OnReadHeader(beast::error_code ec, std::size_t) {
    const SessionLock lock(this);
    if (connection_ == Connection::kStreaming) return parser_.reset();  // Cancelled for it.
    if (ec) return OnReadError(ec);
    const HttpRequest& header = parser_->get();
    // curl and other clients wait for "100 Continue" before sending a larger body. Answer it
    // only when nothing else is queued for writing, so it cannot interleave with a response.
    if (absl::EqualsIgnoreCase(View(header[http::field::expect]), "100-continue") &&
        queue_.empty() && !writing_) {
      writing_ = true;
      continue_.emplace(http::status::continue_, header.version());
      stream_.expires_after(ToChrono(options().write_timeout));
      http::async_write(stream_, *continue_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          const SessionLock lock(self.get());
                          self->writing_ = false;
                          if (ec) return self->CloseSocket();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    // A small body usually arrives with its header: when it is all buffered, parse it here rather
    // than through another read operation, which completes by a post to the strand. Chunked
    // bodies, and bodies still arriving, take the read.
    if (!parser_->is_done() && !parser_->chunked() && parser_->content_length().has_value() &&
        buffer_.size() >= *parser_->content_length()) {
      beast::error_code ec;
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec || parser_->is_done()) return OnReadBody(ec, 0);
    }
    if (parser_->is_done()) return OnReadBody({}, 0);
    stream_.expires_never();
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnReadBody, shared_from_this()));
  }

  void OnReadBody(beast::error_code ec, std::size_t) {
    const SessionLock lock(this);
    if (connection_ == Connection::kStreaming) return parser_.reset();  // Cancelled for it.
    if (ec) return OnReadError(ec);
    auto exchange = std::make_shared<Exchange>();
    exchange->request = parser_->release();
    parser_.reset();
    DescribeRequest(exchange->request, exchange.get());
    exchange->request_id = ChooseRequestId(exchange->request);
    if (!exchange->keep_alive && connection_ == Connection::kOpen) {
      connection_ = Connection::kClosing;
    }
    queue_.push_back(exchange);
    UpdateReadTimer();
    Dispatch(exchange);
    DoRead();
  }

  void OnReadError(beast::error_code ec) {
    if (connection_ == Connection::kClosed || ec == net::error::operation_aborted) {
      parser_.reset();
      return CloseSocket();
    }
    if (ec == http::error::end_of_stream) {
      parser_.reset();
      // The client is done sending; answer what it asked, then close.
      if (connection_ == Connection::kOpen) connection_ = Connection::kClosing;
      return MaybeFinish();
    }
    if (!DeservesAnswer(ec)) {
      parser_.reset();
      return CloseSocket();
    }

    // The request cannot be framed, so the connection cannot continue: answer and close.
    auto exchange = std::make_shared<Exchange>();
    if (parser_->is_header_done()) DescribeRequest(parser_->get(), exchange.get());
    parser_.reset();
    exchange->request_id = NewRequestId();
    connection_ = Connection::kClosing;
    queue_.push_back(exchange);
    SetResponse(exchange.get(), FramingErrorResponse(ec, options()), /*close=*/true);
    MaybeWrite();
  }

  static void DescribeRequest(const HttpRequest& request, Exchange* exchange) {
    exchange->method = std::string(request.method_string());
    exchange->path = std::string(SplitTarget(View(request.target())).path);
    exchange->version = request.version();
    exchange->keep_alive = request.keep_alive();
    exchange->is_head = request.method() == http::verb::head;
  }

  void Dispatch(const std::shared_ptr<Exchange>& exchange) {
    // An answer given while the handler runs is taken at once; one from another thread (gRPC's)
    // takes the connection there when it is idle, else is posted to the strand.
    HttpResponder respond = [self = shared_from_this(), exchange](HttpResponse response) {
      if (exchange->answered.exchange(true)) return;  // A second answer: keep the first.
      if (t_locked_session == self.get()) return self->OnAnswer(exchange, std::move(response));
      if (self->mu_.TryLock()) {
        const SessionLock lock(self.get(), std::adopt_lock);
        return self->OnAnswer(exchange, std::move(response));
      }
      net::post(self->stream_.get_executor(),
                [self, exchange, response = std::move(response)]() mutable {
                  const SessionLock lock(self.get());
                  self->OnAnswer(exchange, std::move(response));
                });
    };
    try {
      state_->handler->Handle(exchange->request, exchange->request_id, client_ip_,
                              std::move(respond));
    } catch (const std::exception& e) {
      LogError("handler threw", {{"error", e.what()}, {"request_id", exchange->request_id}});
      if (!exchange->answered.exchange(true)) FailExchange(exchange.get());
    } catch (...) {
      LogError("handler threw", {{"request_id", exchange->request_id}});
      if (!exchange->answered.exchange(true)) FailExchange(exchange.get());
    }
  }

  void OnAnswer(const std::shared_ptr<Exchange>& exchange, HttpResponse response) {
    if (connection_ == Connection::kClosed) return;
    try {
      SetResponse(exchange.get(), std::move(response), /*close=*/false);
    } catch (const std::exception& e) {
      LogError("building the response threw", {{"error", e.what()}});
      FailExchange(exchange.get());
    }
    MaybeWrite();
  }

  // 500 for an exchange whose handling threw; the connection closes after it.
  void FailExchange(Exchange* exchange) {
    exchange->answered_ready = false;
    exchange->response.reset();
    exchange->stream.reset();
    SetResponse(exchange, HttpErrorResponse(500, "INTERNAL", "internal error"), /*close=*/true);
    MaybeWrite();
  }

  void SetResponse(Exchange* exchange, HttpResponse answer, bool close) {
    AttachRequestId(&answer, exchange->request_id);  // The server's own errors (413, 500) too.
    if (!answer.stream || close) {
      exchange->status = answer.status;
      exchange->wire =
          ResponseBytes(std::move(answer), exchange->version, exchange->request_id,
                        exchange->keep_alive && !close, exchange->is_head, &exchange->close_after);
      exchange->answered_ready = true;
      if (close && connection_ == Connection::kOpen) connection_ = Connection::kClosing;
      return;
    }
    {
      http::response<http::string_body> response =
          ResponseHead(answer, exchange->version, exchange->request_id);
      // The connection carries this stream until it ends, then closes.
      response.keep_alive(false);
      response.chunked(true);
      // Reverse proxies (nginx) must pass events through as they come.
      response.set("X-Accel-Buffering", "no");
      exchange->stream = std::move(answer.stream);
      exchange->stream_ends_at = answer.stream_ends_at;
      exchange->response = std::move(response);
      exchange->status = answer.status;
      exchange->answered_ready = true;
      if (connection_ == Connection::kOpen) connection_ = Connection::kClosing;
    }
  }

  void MaybeWrite() {
    if (connection_ == Connection::kClosed || connection_ == Connection::kStreaming ||
        connection_ == Connection::kLingering || writing_ || queue_.empty() ||
        !queue_.front()->answered_ready) {
      return;
    }
    if (queue_.front()->stream) {
      // A stream's operations all run on the strand (response_stream.h).
      if (!OnStrand()) return OnStrandLater([](Session* self) { self->MaybeWrite(); });
      return StartStream();
    }
    writing_ = true;
    Exchange& exchange = *queue_.front();
    // Written here and now when the socket takes it all: no completion to wait for on another
    // thread. What does not fit goes on asynchronously from where this write stopped.
    beast::error_code ec;
    exchange.written += net::write(stream_.socket(), net::buffer(exchange.wire), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      // The stream's timers are not thread-safe while a read is outstanding: the rest is written
      // from the strand.
      if (!OnStrand()) return OnStrandLater([](Session* self) { self->ContinueWrite(); });
      return ContinueWrite();
    }
    AfterWrite(ec);
  }

  void ContinueWrite() {
    if (queue_.empty() || !queue_.front()->answered_ready) return;
    const Exchange& exchange = *queue_.front();
    stream_.expires_after(ToChrono(options().write_timeout));
    net::async_write(stream_,
                     net::buffer(exchange.wire.data() + exchange.written,
                                 exchange.wire.size() - exchange.written),
                     beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  bool OnStrand() {
    const auto* strand =
        stream_.get_executor().target<net::strand<net::io_context::executor_type>>();
    return strand != nullptr && strand->running_in_this_thread();
  }

  // Runs `step` on the strand, with the connection held.
  void OnStrandLater(void (*step)(Session*)) {
    net::post(stream_.get_executor(), [self = shared_from_this(), step] {
      const SessionLock lock(self.get());
      step(self.get());
    });
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    const SessionLock lock(this);
    AfterWrite(ec);
  }

  void AfterWrite(beast::error_code ec) {
    writing_ = false;
    std::shared_ptr<Exchange> exchange = queue_.front();
    queue_.pop_front();
    LogAccess(*exchange);
    if (ec) return CloseSocket();
    if (exchange->close_after) {
      if (connection_ == Connection::kOpen) connection_ = Connection::kClosing;
      queue_.clear();
      return Shutdown();
    }
    UpdateReadTimer();
    MaybeWrite();
    DoRead();
    MaybeFinish();
  }

  void LogAccess(const Exchange& exchange) {
    const int status = exchange.status;
    LogInfo("request",
            {{"method", ToValidUtf8(exchange.method)},
             {"path", ToValidUtf8(exchange.path)},
             {"status", absl::StrCat(status)},
             {"duration_ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - exchange.start))},
             {"request_id", exchange.request_id}});
  }

  // The read timer runs only while a read is outstanding and no request awaits its answer. The
  // deadline moves twice per request; rather than cancel and re-arm the timer each time (a
  // cancelled wait still completes, through the strand), one wait stays outstanding and, when it
  // fires, is armed again for the time left.
  void UpdateReadTimer() {
    if (connection_ == Connection::kClosed) return;
    if (reading() && queue_.empty()) {
      read_deadline_ = std::chrono::steady_clock::now() + ToChrono(options().read_timeout);
      if (!read_timer_waiting_) ArmReadTimer();
    } else {
      read_deadline_ = std::chrono::steady_clock::time_point::max();  // Paused.
    }
  }

  void ArmReadTimer() {
    read_timer_waiting_ = true;
    if (!OnStrand()) return OnStrandLater([](Session* self) { self->StartReadWait(); });
    StartReadWait();
  }

  void StartReadWait() {
    if (connection_ == Connection::kClosed ||
        read_deadline_ == std::chrono::steady_clock::time_point::max()) {
      read_timer_waiting_ = false;  // UpdateReadTimer arms it when the deadline runs again.
      return;
    }
    timer_.expires_at(read_deadline_);
    timer_.async_wait(beast::bind_front_handler(&Session::OnReadTimer, shared_from_this()));
  }

  void OnReadTimer(beast::error_code ec) {
    const SessionLock lock(this);
    read_timer_waiting_ = false;
    if (ec == net::error::operation_aborted || connection_ == Connection::kClosed) return;
    // Paused, or no longer reading (lingering, streaming): UpdateReadTimer arms it again.
    if (!reading() || !queue_.empty() ||
        read_deadline_ == std::chrono::steady_clock::time_point::max()) {
      return;
    }
    if (std::chrono::steady_clock::now() >= read_deadline_) return CloseSocket();
    ArmReadTimer();
  }

  void MaybeFinish() {
    if (connection_ == Connection::kClosing && queue_.empty() && !writing_) Shutdown();
  }

  // The streamed answer at the front of the queue takes the socket; nothing after it is
  // answered (the connection stopped reading when the handler chose to stream).
  void StartStream() {
    std::shared_ptr<Exchange> exchange = queue_.front();
    queue_.clear();
    LogAccess(*exchange);
    if (reading()) {
      // A pipelined request's read is still outstanding; it would race the stream's watch of the
      // socket. Its completion sees kStreaming and only drops the parser.
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
    }
    timer_.cancel();
    stream_.expires_never();
    connection_ = Connection::kStreaming;
    response_stream_ = std::make_shared<ResponseStream>(
        stream_.socket(), shared_from_this(), std::move(*exchange->response), exchange->stream,
        ResponseStream::Limits{options().max_stream_pending_bytes,
                               options().max_total_stream_pending_bytes},
        &state_->stream_pending_bytes, exchange->request_id,
        [weak = weak_from_this()](ResponseStream::Outcome outcome) {
          std::shared_ptr<Session> self = weak.lock();
          if (!self) return;
          const SessionLock lock(self.get());
          if (outcome == ResponseStream::Outcome::kFailed) return self->CloseSocket();
          self->connection_ = Connection::kClosing;
          self->Shutdown();
        });
    response_stream_->Start(exchange->stream_ends_at);
    if (state_->draining) response_stream_->End();
  }

  // Graceful close after the last response: send FIN, then read and discard what the client is
  // still sending for a moment, so an unread request body does not turn our close into a reset
  // that destroys the response before the client reads it.
  void Shutdown() {
    if (connection_ == Connection::kLingering || connection_ == Connection::kClosed) return;
    if (!OnStrand()) return OnStrandLater([](Session* self) { self->Shutdown(); });
    if (reading()) return CloseSocket();
    connection_ = Connection::kLingering;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_never();
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      const SessionLock lock(self.get());
      if (ec != net::error::operation_aborted) self->CloseSocket();
    });
    Discard();
  }

  void Discard() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              const SessionLock lock(self.get());
                              if (ec) return self->CloseSocket();
                              self->Discard();
                            });
  }

  void CloseSocket() {
    if (connection_ == Connection::kClosed) return;
    if (!OnStrand()) return OnStrandLater([](Session* self) { self->CloseSocket(); });
    connection_ = Connection::kClosed;
    if (response_stream_) {
      response_stream_->Abort();
      // The stream holds this connection; this breaks the cycle.
      response_stream_.reset();
    }
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  // First member: destroyed last, it keeps the io_context alive for the socket and timer.
  const std::shared_ptr<HttpServer::State> state_;
  // Guards everything below but the members set once in the constructor (SessionLock).
  absl::Mutex mu_;
  beast::tcp_stream stream_;
  // The read timeout, then (Shutdown) the linger time.
  net::steady_timer timer_;
  std::chrono::steady_clock::time_point read_deadline_ =
      std::chrono::steady_clock::time_point::max();
  bool read_timer_waiting_ = false;  // An OnReadTimer wait is outstanding.
  std::string client_ip_;
  beast::flat_buffer buffer_;
  // Set while a request is being read.
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::deque<std::shared_ptr<Exchange>> queue_;
  std::array<char, 4096> discard_;
  Connection connection_ = Connection::kOpen;
  bool writing_ = false;  // An async_write is in flight; one at a time.
  std::shared_ptr<ResponseStream> response_stream_;
};

}  // namespace

class HttpServer::Listener : public std::enable_shared_from_this<Listener> {
 public:
  explicit Listener(std::shared_ptr<State> state)
      : state_(std::move(state)),
        acceptor_(net::make_strand(*state_->io_contexts.front())),
        retry_timer_(acceptor_.get_executor()) {}

  absl::Status Listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ",
                                                 endpoint.address().to_string(), ":",
                                                 endpoint.port(), ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  int port() const { return acceptor_.local_endpoint().port(); }

  void Run() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->DoAccept(); });
  }

  // Closes the acceptor on its strand and returns once it is closed.
  void Stop() {
    absl::Notification closed;
    net::post(acceptor_.get_executor(), [this, &closed] {
      beast::error_code ignored;
      retry_timer_.cancel();
      acceptor_.close(ignored);
      closed.Notify();
    });
    closed.WaitForNotification();
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(state_->NextIoContext()),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
      // Typically EMFILE: pause instead of spinning on the error.
      LogWarning("accept failed", {{"error", ec.message()}});
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && self->acceptor_.is_open()) self->DoAccept();
      });
      return;
    }
    if (!state_->draining) std::make_shared<Session>(std::move(socket), state_)->Start();
    DoAccept();
  }

  std::shared_ptr<State> state_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
};

std::vector<std::string> ServeRawRequests(const HttpServerOptions& options, HttpHandler* handler,
                                          absl::string_view bytes) {
  auto written = std::make_shared<std::vector<std::string>>();
  auto write = [written](const http::response<http::string_body>& response) {
    std::ostringstream wire;
    wire << response;
    written->push_back(wire.str());
  };
  bool closing = false;
  for (size_t handled = 0; !closing && !bytes.empty() && handled < options.max_pipelined;
       ++handled) {
    http::request_parser<http::string_body> parser;
    ConfigureRequestParser(options, &parser);
    parser.eager(true);
    beast::error_code ec;
    while (!parser.is_done()) {
      if (bytes.empty()) {
        parser.put_eof(ec);
        break;
      }
      const size_t used = parser.put(net::buffer(bytes.data(), bytes.size()), ec);
      bytes.remove_prefix(used);
      if (ec == http::error::need_more) {
        // All the input is there, so needing more means the message ends early. (Beast expects
        // the next put() to bring more bytes than were left; the same ones again trip its
        // assertions, as tests/fuzz/http_request_fuzzer found.)
        ec = {};
        bytes = absl::string_view();
        continue;
      }
      if (ec) break;
    }
    if (ec) {
      if (!DeservesAnswer(ec)) break;
      const HttpRequest& header = parser.get();
      const unsigned version = parser.is_header_done() ? header.version() : 11;
      http::response<http::string_body> response =
          ResponseHead(FramingErrorResponse(ec, options), version, NewRequestId());
      FinishResponse(FramingErrorResponse(ec, options), /*keep_alive=*/false,
                     /*is_head=*/parser.is_header_done() && header.method() == http::verb::head,
                     &response);
      write(response);
      break;
    }
    HttpRequest request = parser.release();
    const std::string request_id = ChooseRequestId(request);
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    const bool is_head = request.method() == http::verb::head;
    closing = !keep_alive;
    handler->Handle(
        request, request_id, "127.0.0.1",
        [write, written, version, keep_alive, is_head, request_id](HttpResponse answer) {
          if (answer.stream) {
            http::response<http::string_body> response = ResponseHead(answer, version, request_id);
            FinishResponse(std::move(answer), keep_alive, is_head, &response);
            return write(response);
          }
          bool close = false;
          written->push_back(
              ResponseBytes(std::move(answer), version, request_id, keep_alive, is_head, &close));
        });
  }
  return std::move(*written);
}

bool IsValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler* handler)
    : options_(std::move(options)), state_(std::make_shared<State>(options_.threads)) {
  state_->options = options_;
  state_->handler = handler;
}

HttpServer::~HttpServer() {
  if (running_) Shutdown(absl::ZeroDuration());
}

absl::Status HttpServer::Start() {
  std::string host;
  uint16_t port = 0;
  // SplitHostPort rejects port 0, which tests use to get a free port.
  const bool any_port = absl::EndsWith(options_.address, ":0");
  if (!SplitHostPort(
          any_port ? absl::StrCat(options_.address.substr(0, options_.address.size() - 2), ":1")
                   : options_.address,
          &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", options_.address, "\" is not host:port"));
  }
  if (any_port) port = 0;
  beast::error_code ec;
  tcp::resolver resolver(*state_->io_contexts.front());
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot resolve \"", host, "\": ", ec.message()));
  }
  listener_ = std::make_shared<Listener>(state_);
  if (absl::Status listening = listener_->Listen(endpoints.begin()->endpoint()); !listening.ok()) {
    listener_.reset();
    return listening;
  }
  port_ = listener_->port();
  for (const std::shared_ptr<net::io_context>& io_context : state_->io_contexts) {
    work_.push_back(net::make_work_guard(*io_context));
  }
  listener_->Run();
  for (const std::shared_ptr<net::io_context>& io_context : state_->io_contexts) {
    threads_.emplace_back([io_context] {
      // A handler that throws unwinds out of run(); the connection it belonged to is gone with
      // its handlers, and this thread goes back to serving the others.
      for (;;) {
        try {
          io_context->run();
          return;
        } catch (const std::exception& e) {
          LogError("uncaught exception on an I/O thread", {{"error", e.what()}});
        } catch (...) {
          LogError("uncaught exception on an I/O thread");
        }
      }
    });
  }
  running_ = true;
  return absl::OkStatus();
}

void HttpServer::Shutdown(absl::Duration grace) {
  if (!running_) return;
  running_ = false;
  state_->draining = true;
  listener_->Stop();
  for (const std::shared_ptr<Session>& session : state_->registry.Snapshot()) session->Drain();
  if (!state_->registry.WaitEmpty(grace)) {
    LogWarning("closing connections still open after the drain period");
    for (const std::shared_ptr<Session>& session : state_->registry.Snapshot()) {
      session->ForceClose();
    }
    state_->registry.WaitEmpty(absl::Seconds(1));
  }
  work_.clear();
  for (const std::shared_ptr<net::io_context>& io_context : state_->io_contexts) {
    io_context->stop();
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  // The closed acceptor's and sockets' last completions hold references to the listener and the
  // connections, which hold the io_contexts: run what is ready so that cycle is released.
  for (const std::shared_ptr<net::io_context>& io_context : state_->io_contexts) {
    io_context->restart();
    io_context->poll();
  }
  listener_.reset();
}

}  // namespace livecall::gateway
