#include "tests/fakes/fake_http_server.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace livecall::fakes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct FakeHttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  absl::Mutex mu;
  std::vector<std::thread> connection_threads ABSL_GUARDED_BY(mu);
  std::vector<std::shared_ptr<tcp::socket>> sockets ABSL_GUARDED_BY(mu);
  std::atomic<bool> stopping{false};
};

FakeHttpServer::FakeHttpServer(Handler handler)
    : handler_(std::move(handler)), impl_(std::make_unique<Impl>()) {}

FakeHttpServer::~FakeHttpServer() { Stop(); }

std::string FakeHttpServer::base_url() const { return absl::StrCat("http://127.0.0.1:", port_); }

std::vector<FakeRequest> FakeHttpServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

absl::Status FakeHttpServer::Start() {
  beast::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("fake http server: ", ec.message()));
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] {
    while (!impl_->stopping) {
      auto socket = std::make_shared<tcp::socket>(impl_->io);
      beast::error_code accept_error;
      impl_->acceptor.accept(*socket, accept_error);
      if (accept_error || impl_->stopping) return;
      ++connections_accepted_;
      absl::MutexLock lock(&impl_->mu);
      impl_->sockets.push_back(socket);
      impl_->connection_threads.emplace_back([this, socket] {
        beast::flat_buffer buffer;
        while (!impl_->stopping) {
          http::request<http::string_body> request;
          beast::error_code read_error;
          http::read(*socket, buffer, request, read_error);
          if (read_error) return;
          FakeRequest recorded;
          recorded.method = std::string(request.method_string());
          recorded.target = std::string(request.target());
          for (const auto& field : request) {
            recorded.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
                std::string(field.value());
          }
          recorded.body = request.body();
          {
            absl::MutexLock lock(&mu_);
            requests_.push_back(recorded);
          }
          FakeResponse answer = handler_(recorded);
          if (answer.drop_connection) {
            beast::error_code ignored;
            socket->shutdown(tcp::socket::shutdown_both, ignored);
            socket->close(ignored);
            return;
          }
          absl::SleepFor(answer.delay_before_headers);
          std::string head = absl::StrCat(
              "HTTP/1.1 ", answer.status, " ",
              std::string(http::obsolete_reason(http::int_to_status(answer.status))), "\r\n");
          for (const auto& [name, value] : answer.headers)
            absl::StrAppend(&head, name, ": ", value, "\r\n");
          const bool chunked = answer.chunks.size() > 1;
          if (chunked) {
            absl::StrAppend(&head, "transfer-encoding: chunked\r\n\r\n");
          } else {
            const std::string body = answer.chunks.empty() ? "" : answer.chunks[0];
            absl::StrAppend(&head, "content-length: ", body.size(), "\r\n\r\n", body);
          }
          beast::error_code write_error;
          asio::write(*socket, asio::buffer(head), write_error);
          if (write_error) return;
          if (chunked) {
            for (size_t i = 0; i < answer.chunks.size(); ++i) {
              if (i > 0) absl::SleepFor(answer.chunk_delay);
              const std::string& chunk = answer.chunks[i];
              std::string framed = absl::StrCat(absl::Hex(chunk.size()), "\r\n", chunk, "\r\n");
              asio::write(*socket, asio::buffer(framed), write_error);
              if (write_error) return;
            }
            asio::write(*socket, asio::buffer(std::string("0\r\n\r\n")), write_error);
            if (write_error) return;
          }
          if (!request.keep_alive()) return;
        }
      });
    }
  });
  return absl::OkStatus();
}

void FakeHttpServer::Stop() {
  if (impl_->stopping.exchange(true)) return;
  beast::error_code ignored;
  // Wake the blocking accept() with a connection of our own; it then sees `stopping`.
  if (port_ != 0 && impl_->accept_thread.joinable()) {
    tcp::socket poke(impl_->io);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  impl_->acceptor.close(ignored);
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&impl_->mu);
    for (auto& socket : impl_->sockets) {
      socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    threads.swap(impl_->connection_threads);
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace livecall::fakes
