#ifndef LIVECALL_SERVICES_GATEWAY_RESPONSE_STREAM_H_
#define LIVECALL_SERVICES_GATEWAY_RESPONSE_STREAM_H_

// One streamed answer (Server-Sent Events) on its connection, once the connection has handed its
// socket over: the head (Transfer-Encoding: chunked, through Beast's serializer), then each piece
// the StreamBody writes to its StreamSink as one HTTP/1.1 chunk (Beast's chunk encoding), then
// the last chunk. Pieces that arrive while a write is in flight go out together as the next
// chunk, so a burst of events costs one write. The connection reads nothing more, but the socket
// is watched, so a client that goes away stops the body at once.
//
// Bytes not yet written are capped per stream and over every stream of the server (a slow
// reader is disconnected; an EventSource resumes with Last-Event-ID).
//
// Everything but the sink runs on the socket's executor (the connection's strand); the sink may
// be called from any thread.

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/gateway/http_response.h"

namespace livecall::gateway {

class ResponseStream : public std::enable_shared_from_this<ResponseStream> {
 public:
  struct Limits {
    // Not yet written, on this stream.
    size_t max_pending_bytes = 1 << 20;
    // Not yet written, over every stream sharing `total_pending`.
    size_t max_total_pending_bytes = 64 << 20;
  };

  // How the stream finished, for the connection: kEnded after the last chunk was written (the
  // connection may close gracefully), kFailed when the socket failed, the client went away or
  // read too slowly (the connection closes at once).
  enum class Outcome { kEnded, kFailed };

  // `socket` is the connection's; `owner` (the connection) is kept alive while the stream is, so
  // the socket outlives every operation on it. `head` must be a chunked response.
  // `total_pending` counts the bytes not yet written over all streams and outlives this one.
  // `finished` runs once, on the socket's executor, unless Abort() came first.
  ResponseStream(boost::asio::ip::tcp::socket& socket, std::shared_ptr<void> owner,
                 boost::beast::http::response<boost::beast::http::string_body> head,
                 std::shared_ptr<StreamBody> body, Limits limits,
                 std::atomic<size_t>* total_pending, std::string request_id,
                 std::function<void(Outcome)> finished);
  ~ResponseStream();
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  // Writes the head, then starts the body; the stream ends by itself at `ends_at`.
  void Start(absl::Time ends_at = absl::InfiniteFuture());
  // Stops the body and ends the stream cleanly: what is queued, then the last chunk. Idempotent.
  void End();
  // Stops the body without writing more; `finished` is not called. For a connection that closes
  // its socket itself. Idempotent.
  void Abort();

  // Bytes accepted from the body and not yet written.
  size_t pending_bytes() const { return pending_bytes_; }

 private:
  enum class State {
    kWritingHead,       // The head is being written; the body has not started.
    kStreaming,         // The body writes; its pieces go out as chunks.
    kEnding,            // No more pieces: what is queued goes out, then the last chunk.
    kWritingLastChunk,  // The last chunk is being written.
    kDone,              // Finished, failed or aborted: nothing more is written.
  };
  enum class BodyState { kNotStarted, kRunning, kStopped };
  class Sink;

  void OnHeadWritten(boost::system::error_code ec);
  void Queue(std::string data);
  void WriteNext();
  void OnWritten(boost::system::error_code ec);
  void WatchForClientClose();
  void StopBody();
  void Finish(Outcome outcome);
  void Release(size_t bytes);

  boost::asio::ip::tcp::socket& socket_;
  const std::shared_ptr<void> owner_;
  boost::beast::http::response<boost::beast::http::string_body> head_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::string_body>>
      head_serializer_;
  const std::shared_ptr<StreamBody> body_;
  const Limits limits_;
  std::atomic<size_t>* const total_pending_;
  const std::string request_id_;
  std::function<void(Outcome)> finished_;
  boost::asio::steady_timer end_timer_;

  State state_ = State::kWritingHead;
  BodyState body_state_ = BodyState::kNotStarted;
  bool writing_ = false;   // An async_write (head or chunk) is in flight.
  std::string queued_;     // Pieces waiting for the next chunk.
  std::string in_flight_;  // The chunk being written.
  size_t pending_bytes_ = 0;
  std::array<char, 1024> discard_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_RESPONSE_STREAM_H_
