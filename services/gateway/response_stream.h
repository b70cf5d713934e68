#ifndef LIVECALL_SERVICES_GATEWAY_RESPONSE_STREAM_H_
#define LIVECALL_SERVICES_GATEWAY_RESPONSE_STREAM_H_

// One streamed answer (Server-Sent Events) on its connection, once the connection has handed its
// socket over: the head (Transfer-Encoding: chunked, through Beast's serializer), then each piece
// the StreamBody writes to its StreamSink as one HTTP/1.1 chunk, then the last chunk. Pieces that
// arrive while a write is in flight go out together as the next chunk, so a burst of events costs
// one write. The connection reads nothing more, but the socket is watched, so a client that goes
// away stops the body at once.
//
// Bytes not yet written are capped per stream and over every stream of the server (a slow
// reader is disconnected; an EventSource resumes with Last-Event-ID).
//
// The sink may be called from any thread (the event hub's). A piece written while the stream is
// idle goes to the socket there and then, with one non-blocking gather write (chunk size, piece,
// CRLF: no copy): posting every piece to the connection's strand cost a thread wake-up per event
// (bench/README.md, issue 17). What the socket does not take at once, and everything else (the
// head, the last chunk, timers, failures, stopping the body), runs on the socket's executor (the
// connection's strand). The stream's state is guarded by a mutex that the strand's handlers take
// and that a sink call only tries to take: when it is busy, the piece waits in an inbox drained
// on the strand, behind which later pieces queue, so pieces keep their order.
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

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
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
  size_t pending_bytes() const ABSL_LOCKS_EXCLUDED(mu_);

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
  class Lock;

  // From the sink, on any thread.
  void Accept(std::string data) ABSL_LOCKS_EXCLUDED(mu_);
  void EndFromSink();
  // On the strand: the pieces that waited in the inbox.
  void DrainInbox() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void OnHeadWritten(boost::system::error_code ec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `on_strand`: the caller runs on the socket's executor (else: the sink's thread, which may
  // write to the socket without waiting but leaves everything else to the strand).
  void Queue(std::string data, bool on_strand) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNext(bool on_strand) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the rest of the chunk in flight asynchronously (on the strand).
  void ContinueWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWritten(boost::system::error_code ec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WatchForClientClose();
  void StopBody() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Off the strand: marks the stream failed and finishes it on the strand.
  void FailLater() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(Outcome outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  boost::asio::ip::tcp::socket& socket_;
  const std::shared_ptr<void> owner_;
  boost::beast::http::response<boost::beast::http::string_body> head_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::string_body>>
      head_serializer_;
  const std::shared_ptr<StreamBody> body_;
  const Limits limits_;
  std::atomic<size_t>* const total_pending_;
  const std::string request_id_;
  boost::asio::steady_timer end_timer_;

  mutable absl::Mutex mu_;
  std::function<void(Outcome)> finished_ ABSL_GUARDED_BY(mu_);
  // Set by Finish; run by the outermost Lock after it unlocks.
  std::function<void(Outcome)> finished_due_ ABSL_GUARDED_BY(mu_);
  Outcome finished_outcome_ ABSL_GUARDED_BY(mu_) = Outcome::kFailed;
  State state_ ABSL_GUARDED_BY(mu_) = State::kWritingHead;
  BodyState body_state_ ABSL_GUARDED_BY(mu_) = BodyState::kNotStarted;
  // Set off the strand when the stream failed (too slow, socket error): pieces are dropped until
  // the strand finishes it.
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // A write (head or chunk) is in flight.
  std::string queued_ ABSL_GUARDED_BY(mu_);    // Pieces waiting for the next chunk.
  // The chunk being written: its size line, its piece, and how much of the three (with the
  // closing CRLF) the socket took.
  std::array<char, 24> in_flight_size_line_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_size_line_length_ ABSL_GUARDED_BY(mu_) = 0;
  std::string in_flight_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_written_ ABSL_GUARDED_BY(mu_) = 0;
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<char, 1024> discard_;

  // Pieces the sink could not hand over at once (the mutex was busy), in order; a DrainInbox is
  // posted while it holds any. A leaf lock: nothing is called under it.
  absl::Mutex inbox_mu_;
  std::string inbox_ ABSL_GUARDED_BY(inbox_mu_);
  bool drain_posted_ ABSL_GUARDED_BY(inbox_mu_) = false;
  // Set by the sink's End(): later pieces are dropped, as they were when End ran first.
  std::atomic<bool> sink_ended_{false};
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_RESPONSE_STREAM_H_
