#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_SERVICE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_SERVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/executor.h"
#include "livecall/v1/call_control.grpc.pb.h"
#include "services/call-control/call_store.h"
#include "services/call-control/telephony_provider.h"

namespace livecall::call_control {

// Longest text a call may speak; Twilio's <Say> takes up to 4,096 characters.
inline constexpr size_t kMaxSpokenTextLength = 4096;

// livecall.v1.CallControl: places calls through the configured provider and reads them back.
class CallControlService final : public livecall::v1::CallControl::CallbackService {
 public:
  CallControlService(TelephonyProvider& provider, CallStore& calls, Executor& executor,
                     std::string default_caller_id)
      : provider_(provider),
        calls_(calls),
        executor_(executor),
        default_caller_id_(std::move(default_caller_id)) {}

  // The work behind the RPCs; blocking (Redis), so run on the executor.
  absl::StatusOr<livecall::v1::Call> Place(const livecall::v1::PlaceCallRequest& request);

  // livecall::v1::CallControl::CallbackService
  grpc::ServerUnaryReactor* PlaceCall(grpc::CallbackServerContext* context,
                                      const livecall::v1::PlaceCallRequest* request,
                                      livecall::v1::Call* response) override;
  grpc::ServerUnaryReactor* GetCall(grpc::CallbackServerContext* context,
                                    const livecall::v1::GetCallRequest* request,
                                    livecall::v1::Call* response) override;

 private:
  TelephonyProvider& provider_;
  CallStore& calls_;
  Executor& executor_;
  const std::string default_caller_id_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_SERVICE_H_
