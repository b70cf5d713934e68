// The gateway's HTTP request path on raw bytes: Beast's parser with the server's limits, then
// the gateway's handler (routing, authentication, the Twilio signature check, JSON → proto) and
// the answer's serialization, through ServeRawRequests (services/gateway/http_server.h). The
// backends are a fake that answers every call with an empty message, so the answer path
// (proto → JSON, TwiML) runs too.
//
// Property: nothing crashes, leaks or hits undefined behaviour, and every request that was read
// gets exactly one well-formed HTTP/1.x answer.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/gateway_handler.h"
#include "services/gateway/http_server.h"
#include "services/gateway/openapi.h"
#include "services/gateway/route_table.h"

namespace {

namespace gw = livecall::gateway;

class EmptyAnswerBackend : public gw::BackendClient {
 public:
  void Call(gw::BackendRequest request, gw::BackendCallback done) override {
    // A failing backend on some calls, so the error mapping runs too.
    if (request.payload.size() % 7 == 3) {
      return done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "backend down"), "");
    }
    done(grpc::Status::OK, "");
  }
};

gw::GatewayHandler::Options HandlerOptions() {
  gw::GatewayHandler::Options options;
  if (!options.jwt.SetSecret("fuzz-secret-fuzz-secret-fuzz-secret-0123").ok()) abort();
  options.twilio_auth_token = "fuzz-twilio-auth-token";
  options.public_url = "https://live.example.com";
  // Signed seeds carry no Timestamp; the replay window is checked when one is sent.
  return options;
}

struct Gateway {
  Gateway()
      : routes(*gw::RouteTable::BuildServed()),
        handler(&routes, &backend, /*readiness=*/nullptr, *gw::GenerateOpenApi(routes),
                HandlerOptions()) {}
  gw::RouteTable routes;
  EmptyAnswerBackend backend;
  gw::GatewayHandler handler;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Gateway* gateway = new Gateway();
  // Small limits, so the fuzzer reaches the 413 and 431 answers with small inputs.
  static const gw::HttpServerOptions options{.body_limit = 4096, .header_limit = 2048};
  const std::vector<std::string> answers = gw::ServeRawRequests(
      options, &gateway->handler, absl::string_view(reinterpret_cast<const char*>(data), size));
  for (const std::string& answer : answers) {
    if (!absl::StartsWith(answer, "HTTP/1.")) abort();
    if (answer.find("\r\n\r\n") == std::string::npos) abort();
  }
  return 0;
}
