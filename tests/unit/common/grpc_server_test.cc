// Peer calls (common/grpc_server.h): a call prepared with PreparePeerCall on a MakePeerChannel
// channel carries the process's API key and the request id as metadata, which a real in-process
// gRPC server reads and authenticates.

#include "common/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/async_unary.h"
#include "common/caller_identity.h"
#include "common/request_id.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.grpc.pb.h"

namespace livecall {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kGatewayKey[] = "gateway-key-0123456789";

// Context's GetSession answering with the caller's peer name (as GrpcCallerAuthenticator names
// it) and remembering the x-api-key and x-request-id values each call carried.
class MetadataRecordingService final : public livecall::v1::Context::CallbackService {
 public:
  MetadataRecordingService()
      : authenticator_(
            GrpcAuthConfig{.enabled = true, .accepted_keys = {{"gateway", kGatewayKey}}}) {}

  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const livecall::v1::GetSessionRequest* /*request*/,
                                       livecall::v1::Session* response) override {
    {
      absl::MutexLock lock(&mu_);
      api_keys_ = ValuesOf(*context, kApiKeyMetadata);
      request_ids_ = ValuesOf(*context, kRequestIdMetadata);
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    absl::StatusOr<CallerIdentity> caller = authenticator_.Authenticate(*context);
    if (caller.ok()) response->set_session_id(caller->peer);
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }

  std::vector<std::string> api_keys() const {
    absl::MutexLock lock(&mu_);
    return api_keys_;
  }
  std::vector<std::string> request_ids() const {
    absl::MutexLock lock(&mu_);
    return request_ids_;
  }

 private:
  static std::vector<std::string> ValuesOf(const grpc::CallbackServerContext& context,
                                           const std::string& key) {
    std::vector<std::string> values;
    auto [begin, end] = context.client_metadata().equal_range(key);
    for (auto it = begin; it != end; ++it)
      values.emplace_back(it->second.data(), it->second.size());
    return values;
  }

  const GrpcCallerAuthenticator authenticator_;
  mutable absl::Mutex mu_;
  std::vector<std::string> api_keys_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> request_ids_ ABSL_GUARDED_BY(mu_);
};

class PeerCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    SetPeerApiKey("");
  }

  // A stub on a MakePeerChannel channel that was given `api_key` (made at start-up in a
  // service, so before any call is prepared).
  std::unique_ptr<livecall::v1::Context::Stub> PeerStub(const std::string& api_key) {
    return livecall::v1::Context::NewStub(MakePeerChannel(address_, api_key));
  }
  static grpc::Status GetSession(livecall::v1::Context::Stub& stub, grpc::ClientContext* context,
                                 livecall::v1::Session* response) {
    return stub.GetSession(context, livecall::v1::GetSessionRequest(), response);
  }

  MetadataRecordingService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(PeerCallTest, CarriesTheApiKeyAndTheRequestIdAndIsLetIn) {
  auto stub = PeerStub(kGatewayKey);
  grpc::ClientContext context;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  PreparePeerCall(&context, deadline, "req-peer-1");
  EXPECT_EQ(context.deadline(), absl::ToChronoTime(deadline));
  livecall::v1::Session response;
  grpc::Status status = GetSession(*stub, &context, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.session_id(), "gateway");
  EXPECT_THAT(service_.api_keys(), ElementsAre(kGatewayKey));
  EXPECT_THAT(service_.request_ids(), ElementsAre("req-peer-1"));
}

TEST_F(PeerCallTest, WithoutARequestIdSendsNone) {
  auto stub = PeerStub(kGatewayKey);
  grpc::ClientContext context;
  PreparePeerCall(&context, absl::Now() + absl::Seconds(10), "");
  livecall::v1::Session response;
  ASSERT_TRUE(GetSession(*stub, &context, &response).ok());
  EXPECT_THAT(service_.api_keys(), ElementsAre(kGatewayKey));
  EXPECT_THAT(service_.request_ids(), IsEmpty());
}

TEST_F(PeerCallTest, ACallNotPreparedCarriesNoKeyAndIsRefused) {
  auto stub = PeerStub(kGatewayKey);
  grpc::ClientContext context;
  livecall::v1::Session response;
  EXPECT_EQ(GetSession(*stub, &context, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(service_.api_keys(), IsEmpty());
}

TEST_F(PeerCallTest, WithAuthOffNoKeyIsSent) {
  auto stub = PeerStub(/*api_key=*/"");
  grpc::ClientContext context;
  PreparePeerCall(&context, absl::Now() + absl::Seconds(10), "req-peer-2");
  livecall::v1::Session response;
  EXPECT_EQ(GetSession(*stub, &context, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(service_.api_keys(), IsEmpty());
  EXPECT_THAT(service_.request_ids(), ElementsAre("req-peer-2"));
}

TEST_F(PeerCallTest, CallScopePreparesThePeerCallWithTheKeyAndTheRequestId) {
  auto stub = PeerStub(kGatewayKey);
  ScopedRequestId request_id("req-scope-1");
  const CallScope scope = CallScope::Detached();
  grpc::ClientContext context;
  EXPECT_TRUE(scope.Prepare(&context, absl::Seconds(10)));
  livecall::v1::Session response;
  grpc::Status status = GetSession(*stub, &context, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(service_.api_keys(), ElementsAre(kGatewayKey));
  EXPECT_THAT(service_.request_ids(), ElementsAre("req-scope-1"));
}

}  // namespace
}  // namespace livecall
