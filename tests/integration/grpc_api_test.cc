// The gRPC API that other back ends call directly, against the real services: the generated stubs,
// grpc.health.v1, server reflection, and status codes for bad input.

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/sync_stream.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "livecall/v1/ai_session.grpc.pb.h"
#include "livecall/v1/call_control.grpc.pb.h"
#include "livecall/v1/context.grpc.pb.h"
#include "tests/integration/reflection_subset.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/proto_matchers.h"
#include "tests/support/status_matchers.h"

namespace livecall::testing {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

class GrpcApiTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() { StartSuite(IntegrationSuiteOptions()); }
  static void TearDownTestSuite() { StopSuite(); }

  static std::shared_ptr<grpc::Channel> Channel(Service service) {
    return suite().GrpcChannel(service);
  }

  // A fresh context with a deadline: a ClientContext is never reused.
  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    return context;
  }
};

TEST_F(GrpcApiTest, StartSessionThroughGeneratedStub) {
  auto stub = livecall::v1::AiSession::NewStub(Channel(Service::kAiSession));
  livecall::v1::StartSessionRequest request;
  request.set_phone_number("90 111 22 33");
  livecall::v1::Session session;
  ASSERT_THAT(stub->StartSession(Context().get(), request, &session), IsOk());
  EXPECT_THAT(session.session_id(), Not(IsEmpty()));
  EXPECT_EQ(session.phone_number(), "+998901112233");
  EXPECT_EQ(session.customer().name(), "Dilshod Karimov");
  EXPECT_EQ(session.language(), "uz");
  EXPECT_THAT(session.greeting(), ::testing::HasSubstr("Dilshod"));

  livecall::v1::GetAiSessionRequest get;
  get.set_session_id(session.session_id());
  livecall::v1::Session read;
  ASSERT_THAT(stub->GetSession(Context().get(), get, &read), IsOk());
  EXPECT_THAT(read, EqualsProto(session));
}

TEST_F(GrpcApiTest, ContextLooksUpCustomerAndStoresSessions) {
  auto stub = livecall::v1::Context::NewStub(Channel(Service::kContext));
  livecall::v1::LookupCustomerRequest lookup;
  lookup.set_phone_number("+998 93 555-01-01");
  livecall::v1::Customer customer;
  ASSERT_THAT(stub->LookupCustomer(Context().get(), lookup, &customer), IsOk());
  EXPECT_EQ(customer.phone_number(), "+998935550101");
  EXPECT_EQ(customer.name(), "Анна Петрова");
  EXPECT_TRUE(customer.known());

  livecall::v1::CreateSessionRequest create;
  create.mutable_session()->set_phone_number("+998935550101");
  create.mutable_session()->set_language("ru");
  *create.mutable_session()->mutable_customer() = customer;
  livecall::v1::Session created;
  ASSERT_THAT(stub->CreateSession(Context().get(), create, &created), IsOk());
  EXPECT_THAT(created.session_id(), Not(IsEmpty()));
  EXPECT_TRUE(created.has_created_at());

  livecall::v1::GetSessionRequest get;
  get.set_session_id(created.session_id());
  livecall::v1::Session read;
  ASSERT_THAT(stub->GetSession(Context().get(), get, &read), IsOk());
  EXPECT_THAT(read, EqualsProto(created));
}

TEST_F(GrpcApiTest, PlaceCallThroughGeneratedStub) {
  auto stub = livecall::v1::CallControl::NewStub(Channel(Service::kCallControl));
  livecall::v1::PlaceCallRequest request;
  request.set_to("998977770707");
  request.set_text("Hello");
  livecall::v1::Call call;
  ASSERT_THAT(stub->PlaceCall(Context().get(), request, &call), IsOk());
  EXPECT_EQ(call.to(), "+998977770707");
  EXPECT_EQ(call.status(), livecall::v1::CALL_STATUS_QUEUED);

  livecall::v1::GetCallRequest get;
  get.set_call_sid(call.call_sid());
  livecall::v1::Call read;
  ASSERT_THAT(stub->GetCall(Context().get(), get, &read), IsOk());
  EXPECT_EQ(read.call_sid(), call.call_sid());
}

TEST_F(GrpcApiTest, HealthCheckIsServingForEveryService) {
  for (Service service : kGrpcServices) {
    SCOPED_TRACE(std::string(ServiceName(service)));
    auto stub = grpc::health::v1::Health::NewStub(Channel(service));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_THAT(stub->Check(Context().get(), request, &response), IsOk());
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(GrpcApiTest, BadPhoneIsInvalidArgument) {
  {
    auto stub = livecall::v1::AiSession::NewStub(Channel(Service::kAiSession));
    livecall::v1::StartSessionRequest request;
    request.set_phone_number("not a phone");
    livecall::v1::Session session;
    EXPECT_THAT(stub->StartSession(Context().get(), request, &session),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  {
    auto stub = livecall::v1::Context::NewStub(Channel(Service::kContext));
    livecall::v1::LookupCustomerRequest request;
    request.set_phone_number("12345");
    livecall::v1::Customer customer;
    EXPECT_THAT(stub->LookupCustomer(Context().get(), request, &customer),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  {
    auto stub = livecall::v1::CallControl::NewStub(Channel(Service::kCallControl));
    livecall::v1::PlaceCallRequest request;
    request.set_to("abc");
    request.set_text("Salom");
    livecall::v1::Call call;
    EXPECT_THAT(stub->PlaceCall(Context().get(), request, &call),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_F(GrpcApiTest, UnknownIdsAreNotFound) {
  {
    auto stub = livecall::v1::AiSession::NewStub(Channel(Service::kAiSession));
    livecall::v1::GetAiSessionRequest request;
    request.set_session_id("no-such-session");
    livecall::v1::Session session;
    EXPECT_THAT(stub->GetSession(Context().get(), request, &session),
                StatusIs(absl::StatusCode::kNotFound));
  }
  {
    auto stub = livecall::v1::CallControl::NewStub(Channel(Service::kCallControl));
    livecall::v1::GetCallRequest request;
    request.set_call_sid("CA00000000000000000000000000000000");
    livecall::v1::Call call;
    EXPECT_THAT(stub->GetCall(Context().get(), request, &call),
                StatusIs(absl::StatusCode::kNotFound));
  }
}

// The service names a reflection client (grpcurl, Postman) sees.
std::vector<std::string> ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel,
                                                  grpc::ClientContext* context,
                                                  grpc::Status* status) {
  using Request = livecall::testing::reflection::ServerReflectionRequest;
  using Response = livecall::testing::reflection::ServerReflectionResponse;
  const grpc::internal::RpcMethod method(
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      grpc::internal::RpcMethod::BIDI_STREAMING, channel);
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream(
      grpc::internal::ClientReaderWriterFactory<Request, Response>::Create(channel.get(), method,
                                                                           context));
  Request request;
  request.set_list_services("*");
  std::vector<std::string> names;
  if (stream->Write(request) && stream->WritesDone()) {
    Response response;
    while (stream->Read(&response)) {
      for (const auto& service : response.list_services_response().service()) {
        names.push_back(service.name());
      }
    }
  }
  *status = stream->Finish();
  return names;
}

TEST_F(GrpcApiTest, ReflectionListsEveryService) {
  const std::vector<std::pair<Service, std::string>> expected = {
      {Service::kContext, "livecall.v1.Context"},
      {Service::kAiSession, "livecall.v1.AiSession"},
      {Service::kCallControl, "livecall.v1.CallControl"}};
  for (const auto& [service, name] : expected) {
    SCOPED_TRACE(name);
    grpc::Status status;
    std::vector<std::string> names =
        ListServicesByReflection(Channel(service), Context().get(), &status);
    ASSERT_THAT(status, IsOk());
    EXPECT_THAT(names, Contains(name));
    EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
  }
}

}  // namespace
}  // namespace livecall::testing
