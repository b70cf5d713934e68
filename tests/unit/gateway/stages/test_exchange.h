#ifndef LIVECALL_TESTS_UNIT_GATEWAY_STAGES_TEST_EXCHANGE_H_
#define LIVECALL_TESTS_UNIT_GATEWAY_STAGES_TEST_EXCHANGE_H_

// What the stage and handler tests share: an Exchange as GatewayHandler makes one, the served
// route table, bearer tokens, and a backend that records its calls.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/jwt.h"
#include "gtest/gtest.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/route_table.h"
#include "services/gateway/stages/stage.h"
#include "services/gateway/url.h"

namespace livecall::gateway::testing {

inline constexpr char kTestSecret[] = "0123456789abcdef0123456789abcdef";

inline const RouteTable& ServedRoutes() {
  static const RouteTable* const routes = [] {
    absl::StatusOr<RouteTable> built = RouteTable::BuildServed();
    EXPECT_TRUE(built.ok()) << built.status();
    return new RouteTable(*std::move(built));
  }();
  return *routes;
}

inline HttpRequest Request(boost::beast::http::verb verb, const std::string& target,
                           const std::string& body = "",
                           const std::string& content_type = "application/json") {
  HttpRequest request{verb, target, 11};
  if (!body.empty()) {
    request.set(boost::beast::http::field::content_type, content_type);
    request.body() = body;
    request.prepare_payload();
  }
  return request;
}

// An HS256 token of `kTestSecret` for `sub` with `role`, valid for an hour.
inline std::string BearerToken(const std::string& sub, const std::string& role = "agent",
                               const std::string& secret = kTestSecret) {
  return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                      absl::StrCat(R"({"sub":")", sub, R"(","role":")", role, R"(","exp":)",
                                   absl::ToUnixSeconds(absl::Now() + absl::Hours(1)), "}"),
                      secret);
}

inline JwtVerifier TestVerifier() {
  JwtVerifier verifier;
  EXPECT_TRUE(verifier.SetSecret(kTestSecret).ok());
  return verifier;
}

inline std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

inline std::string MetadataOf(const BackendRequest& call, const std::string& key) {
  for (const auto& [name, value] : call.metadata) {
    if (name == key) return value;
  }
  return "<absent>";
}

// An Exchange over `request`, with the route it matches in ServedRoutes() (when it matches one),
// as the stages before the one under test leave it. Answers given through exchange().respond land
// in answered().
class TestExchange {
 public:
  explicit TestExchange(HttpRequest request, std::string peer_ip = "127.0.0.1")
      : request_(std::move(request)),
        peer_ip_(std::move(peer_ip)),
        target_(SplitTarget(absl::string_view(request_.target().data(), request_.target().size()))),
        exchange_{.request = request_,
                  .request_id = request_id_,
                  .peer_ip = peer_ip_,
                  .method = absl::string_view(request_.method_string().data(),
                                              request_.method_string().size()),
                  .path = target_.path,
                  .query = target_.query,
                  .respond = [this](HttpResponse response) { answered_ = std::move(response); },
                  .route_label = std::make_shared<std::string>("unmatched")} {
    exchange_.match = ServedRoutes().Match(exchange_.method, exchange_.path);
  }
  TestExchange(const TestExchange&) = delete;
  TestExchange& operator=(const TestExchange&) = delete;

  Exchange& exchange() { return exchange_; }
  const std::optional<HttpResponse>& answered() const { return answered_; }
  // A responder for a handler's Serve(), which lands in answered() too.
  HttpResponder Responder() {
    return [this](HttpResponse response) { answered_ = std::move(response); };
  }

 private:
  const HttpRequest request_;
  const std::string request_id_ = "req-1";
  const std::string peer_ip_;
  const RequestTarget target_;
  std::optional<HttpResponse> answered_;
  Exchange exchange_;
};

// Records each call and answers it at once with `status` and `answer`.
class RecordingBackend final : public BackendClient {
 public:
  void Call(BackendRequest request, BackendCallback done) override {
    calls.push_back(request);
    done(status, answer);
  }
  std::vector<BackendRequest> calls;
  grpc::Status status;
  std::string answer;
};

}  // namespace livecall::gateway::testing

#endif  // LIVECALL_TESTS_UNIT_GATEWAY_STAGES_TEST_EXCHANGE_H_
