#ifndef LIVECALL_TESTS_UNIT_GATEWAY_TEST_HTTP_CLIENT_H_
#define LIVECALL_TESTS_UNIT_GATEWAY_TEST_HTTP_CLIENT_H_

// A blocking HTTP/1.1 client over one TCP connection, for tests that talk to the real server:
// raw bytes out (so tests can pipeline or send malformed requests), Beast-parsed responses in.

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace livecall::gateway::testing {

using TestResponse = boost::beast::http::response<boost::beast::http::string_body>;

// "POST /x HTTP/1.1" with Host and Content-Length; `extra_headers` are "Name: value\r\n" lines.
inline std::string RawRequest(const std::string& method, const std::string& target,
                              const std::string& body = "", const std::string& extra_headers = "") {
  return absl::StrCat(
      method, " ", target, " HTTP/1.1\r\nHost: test\r\n", extra_headers,
      body.empty() && method == "GET"
          ? ""
          : absl::StrCat("Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n"),
      "\r\n", body);
}

class TestConnection {
 public:
  explicit TestConnection(int port) : socket_(io_context_) {
    socket_.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                   static_cast<unsigned short>(port)));
  }

  void Send(const std::string& raw) { boost::asio::write(socket_, boost::asio::buffer(raw)); }

  // Bounds each blocking read, so that a server that never answers fails a test instead of
  // hanging it.
  void SetReceiveTimeout(absl::Duration timeout) {
    timeval tv = absl::ToTimeval(timeout);
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }

  // Throws boost::system::system_error when the connection ends before a whole response.
  TestResponse Read() {
    TestResponse response;
    boost::beast::http::read(socket_, buffer_, response);
    return response;
  }

  // A response with a body of any size (Read() stops at Beast's default of 8 MB).
  TestResponse ReadUnlimited() {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.body_limit(boost::none);
    boost::beast::http::read(socket_, buffer_, parser);
    return parser.release();
  }

  // The answer to a HEAD request: a header only, whatever its Content-Length says.
  TestResponse ReadHeadAnswer() {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.skip(true);
    boost::beast::http::read(socket_, buffer_, parser);
    return parser.release();
  }

  TestResponse RoundTrip(const std::string& raw) {
    Send(raw);
    return Read();
  }

  // True when the server has closed the connection (EOF or reset) and sent nothing more.
  bool ClosedByServer() {
    if (buffer_.size() > 0) return false;
    char byte;
    boost::system::error_code ec;
    socket_.read_some(boost::asio::buffer(&byte, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }

 private:
  boost::asio::io_context io_context_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace livecall::gateway::testing

#endif  // LIVECALL_TESTS_UNIT_GATEWAY_TEST_HTTP_CLIENT_H_
