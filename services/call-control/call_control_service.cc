#include "services/call-control/call_control_service.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/language.h"
#include "common/log.h"
#include "common/phone_number.h"
#include "common/proto_time.h"
#include "services/call-control/calls/answer_once.h"
#include "services/call-control/calls/call_state_machine.h"
#include "services/call-control/twilio/voice_token.h"

namespace livecall::call_control {

absl::Status CheckCallOwner(const CallerIdentity& caller, const livecall::v1::Call& call) {
  if (!caller.is_agent()) return absl::OkStatus();
  absl::StatusOr<std::string> identity = AgentIdentity(caller.agent_id);
  if (identity.ok() && !call.agent_identity().empty() && call.agent_identity() == *identity) {
    return absl::OkStatus();
  }
  return NotYours(absl::StrCat("call ", call.call_sid()));
}

absl::StatusOr<livecall::v1::Call> CallControlService::Place(
    const livecall::v1::PlaceCallRequest& request, const CallerIdentity& caller) {
  if (request.to().empty()) return absl::InvalidArgumentError("to is required");
  absl::StatusOr<std::string> to = NormalizePhoneNumber(request.to());
  if (!to.ok()) return absl::InvalidArgumentError(absl::StrCat("to: ", to.status().message()));
  absl::StatusOr<std::string> from =
      NormalizePhoneNumber(request.from().empty() ? default_caller_id_ : request.from());
  if (!from.ok())
    return absl::InvalidArgumentError(absl::StrCat("from: ", from.status().message()));
  using livecall::v1::CALL_MODE_AGENT;
  using livecall::v1::CALL_MODE_TTS;
  const livecall::v1::CallMode mode =
      request.mode() == livecall::v1::CALL_MODE_UNSPECIFIED ? CALL_MODE_TTS : request.mode();
  // A gRPC client may send a number this version does not know.
  if (!livecall::v1::CallMode_IsValid(mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mode ", static_cast<int>(request.mode()), " is not one of tts, ai, agent"));
  }
  if (mode == CALL_MODE_TTS && absl::StripAsciiWhitespace(request.text()).empty()) {
    return absl::InvalidArgumentError("text is required: what the call says to the callee");
  }
  if (mode == CALL_MODE_AGENT && !request.text().empty()) {
    return absl::InvalidArgumentError("text is not used in mode agent: the agent does the talking");
  }
  if (request.text().size() > kMaxSpokenTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is longer than ", kMaxSpokenTextLength, " characters"));
  }
  // "uz", "ru", "en" or a BCP-47 tag of one ("ru-RU"); empty: the default below.
  std::string language;
  if (!request.language().empty()) {
    LIVECALL_ASSIGN_OR_RETURN(language, ParseLanguage(request.language()));
  }
  if (mode != CALL_MODE_TTS && sessions_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mode ", EnumJsonName(mode), " needs ai-session, and this call-control has none"));
  }
  if (mode == CALL_MODE_AGENT && provider_.name() != "sandbox") {
    return absl::FailedPreconditionError(
        "with Twilio an agent's call starts in the agent's browser (Twilio.Device.connect, "
        "answered by /twilio/voice); mode agent places simulated calls in the sandbox only");
  }
  livecall::v1::Call call;
  call.set_to(*to);
  call.set_from(*from);
  call.set_text(request.text());
  call.set_voice(request.voice());
  call.set_mode(mode);
  // A tts call speaks Uzbek unless told otherwise; the others speak the customer's language,
  // which the AI session finds out (customer context, else the number's country).
  call.set_language(language.empty() && mode == CALL_MODE_TTS ? "uz" : language);
  // The call is its caller's: an agent reads and controls only its own (CheckCallOwner).
  if (!caller.agent_id.empty()) {
    LIVECALL_ASSIGN_OR_RETURN(std::string owner, AgentIdentity(caller.agent_id));
    call.set_agent_identity(std::move(owner));
  }
  // An allowed destination, and a slot of the global cap and of an agent's own quota (a
  // supervisor's or a service's calls count against the cap only). The provider writes the call
  // record; the slot stays pending (never swept) until it is committed after it.
  OutboundSlot slot;
  if (options_.outbound_limit != nullptr) {
    LIVECALL_ASSIGN_OR_RETURN(
        slot, options_.outbound_limit->Admit(
                  call.to(), caller.is_agent() ? call.agent_identity() : "", absl::Now()));
  }
  // A placement that fails gives the slot back as this returns.
  LIVECALL_ASSIGN_OR_RETURN(livecall::v1::Call placed, provider_.Place(std::move(call)));
  LIVECALL_RETURN_IF_ERROR(slot.Commit(placed.call_sid(), absl::Now()));
  if (mode == CALL_MODE_TTS) return placed;
  absl::StatusOr<livecall::v1::Call> with_session =
      sessions_->Start(placed, caller.agent_id, language);
  // The call is dialled either way; an AI call without its session hands over to a human.
  return with_session.ok() ? *with_session : placed;
}

namespace {

std::string MetadataValue(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Whether a failed placement surely dialled nobody, so its idempotency key may be tried again.
bool SurelyNotPlaced(const absl::Status& status) {
  return !absl::IsDeadlineExceeded(status) && !absl::IsUnavailable(status) &&
         !absl::IsUnknown(status);
}

absl::Status ValidateDigits(const std::string& digits) {
  if (digits.empty() || digits.size() > 32) {
    return absl::InvalidArgumentError("digits: 1 to 32 DTMF characters are required");
  }
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '*' && c != '#' && c != 'w' &&
        c != 'W') {
      return absl::InvalidArgumentError(
          absl::StrCat("digits: '", std::string(1, c), "' is not one of 0-9, *, #, w"));
    }
  }
  return absl::OkStatus();
}

absl::string_view ActionName(CallAction action) {
  switch (action) {
    case CallAction::kHold:
      return "hold";
    case CallAction::kResume:
      return "resume";
    case CallAction::kMute:
      return "mute";
    case CallAction::kUnmute:
      return "unmute";
    case CallAction::kHangup:
      return "hang up";
    case CallAction::kSendDigits:
      return "send digits to";
  }
  return "change";
}

}  // namespace

absl::StatusOr<livecall::v1::Call> CallControlService::PlaceOnce(
    const livecall::v1::PlaceCallRequest& request, const std::string& idempotency_key,
    const CallerIdentity& caller) {
  if (idempotency_key.empty()) return Place(request, caller);
  if (idempotency_key.size() > 255) {
    return absl::InvalidArgumentError("Idempotency-Key is longer than 255 characters");
  }
  std::optional<livecall::v1::Call> placed;
  auto place_first = [&]() -> absl::StatusOr<std::string> {
    LIVECALL_ASSIGN_OR_RETURN(placed, Place(request, caller));
    return placed->call_sid();
  };
  // Keys are the caller's own: another agent reusing one places its own call.
  LIVECALL_ASSIGN_OR_RETURN(
      OnceAnswer answer,
      AnswerOnce(calls_, absl::StrCat("place-call:", caller.agent_id, ":", idempotency_key),
                 {.ttl = options_.idempotency_ttl,
                  .wait = options_.idempotency_wait,
                  .still_running = absl::AbortedError(
                      "a request with this Idempotency-Key is still being processed (or its "
                      "outcome is unknown); look the call up before placing it again"),
                  .failure_lets_key_go = SurelyNotPlaced},
                 place_first));
  if (!answer.repeated) return *std::move(placed);
  LIVECALL_ASSIGN_OR_RETURN(livecall::v1::Call call, calls_.Get(answer.text));
  LIVECALL_RETURN_IF_ERROR(CheckCallOwner(caller, call));
  return call;
}

absl::StatusOr<livecall::v1::Call> CallControlService::Act(const std::string& call_sid,
                                                           CallAction action,
                                                           const std::string& digits,
                                                           const CallerIdentity& caller) {
  // Existence and ownership first, then the request's own fields, then the call's state, so only
  // the call's agent (or a supervisor) learns anything from a malformed request.
  LIVECALL_ASSIGN_OR_RETURN(livecall::v1::Call call, calls_.GetByAnyLeg(call_sid));
  LIVECALL_RETURN_IF_ERROR(CheckCallOwner(caller, call));
  if (action == CallAction::kSendDigits) LIVECALL_RETURN_IF_ERROR(ValidateDigits(digits));
  if (call.status() != livecall::v1::CALL_STATUS_IN_PROGRESS) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot ", ActionName(action), " call ", call.call_sid(), ": it is ",
                     EnumJsonName(call.status()), ", not in-progress"));
  }
  switch (action) {
    case CallAction::kHold:
    case CallAction::kResume:
      LIVECALL_RETURN_IF_ERROR(provider_.Hold(call, action == CallAction::kHold));
      break;
    case CallAction::kMute:
    case CallAction::kUnmute:
      LIVECALL_RETURN_IF_ERROR(provider_.Mute(call, action == CallAction::kMute));
      break;
    case CallAction::kHangup:
      LIVECALL_RETURN_IF_ERROR(provider_.Hangup(call));
      break;
    case CallAction::kSendDigits:
      LIVECALL_RETURN_IF_ERROR(provider_.SendDigits(call, digits));
      break;
  }
  absl::StatusOr<livecall::v1::Call> updated =
      calls_.Update(call.call_sid(), [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        const absl::Time now = absl::Now();
        switch (action) {
          case CallAction::kHold:
          case CallAction::kResume:
            stored.set_on_hold(action == CallAction::kHold);
            break;
          case CallAction::kMute:
          case CallAction::kUnmute:
            stored.set_muted(action == CallAction::kMute);
            break;
          case CallAction::kHangup:
            if (IsTerminalCallStatus(stored.status())) return false;
            stored.set_on_hold(false);
            RecordCallStatus(stored, livecall::v1::CALL_STATUS_COMPLETED, now);
            return true;
          case CallAction::kSendDigits:
            stored.set_digits_sent(stored.digits_sent() + digits);
            break;
        }
        *stored.mutable_updated_at() = ToProtoTimestamp(now);
        return true;
      });
  if (updated.ok() && sessions_ != nullptr) sessions_->EndIfFinished(*updated);
  return updated;
}

absl::StatusOr<livecall::v1::Call> CallControlService::Read(const std::string& call_sid,
                                                            const CallerIdentity& caller) {
  LIVECALL_ASSIGN_OR_RETURN(livecall::v1::Call call, calls_.GetByAnyLeg(call_sid));
  absl::Status owner = CheckCallOwner(caller, call);
  if (owner.ok()) return call;
  // Not (yet) its call: an agent being rung for it may still read it until an agent answers.
  if (!call.agent_call_sid().empty()) return owner;
  absl::StatusOr<std::string> identity = AgentIdentity(caller.agent_id);
  if (!identity.ok()) return owner;
  LIVECALL_ASSIGN_OR_RETURN(bool rung, calls_.WasAgentRung(call.call_sid(), *identity));
  if (!rung) return owner;
  return call;
}

absl::StatusOr<livecall::v1::ListCallsResponse> CallControlService::List(
    const livecall::v1::ListCallsRequest& request, const CallerIdentity& caller) {
  // Also enforced by the gateway's route roles; checked here for gRPC callers that act for an
  // agent.
  if (caller.is_agent()) {
    return absl::PermissionDeniedError(
        "the live floor (every active call) is for supervisors; an agent reads its own calls one "
        "by one (GET /api/calls/{callSid})");
  }
  constexpr int kDefaultListed = 50;
  constexpr int kMaxListed = 200;
  if (request.limit() < 0 || request.limit() > kMaxListed) {
    return absl::InvalidArgumentError(absl::StrCat("limit must be between 1 and ", kMaxListed));
  }
  LIVECALL_ASSIGN_OR_RETURN(
      std::vector<livecall::v1::Call> live,
      calls_.ListLive(request.limit() == 0 ? kDefaultListed : request.limit()));
  livecall::v1::ListCallsResponse response;
  for (livecall::v1::Call& call : live) *response.add_calls() = std::move(call);
  return response;
}

absl::StatusOr<livecall::v1::VoiceToken> CallControlService::MintToken(
    const std::string& agent_id, const livecall::v1::CreateVoiceTokenRequest& request) {
  if (agent_id.empty()) {
    return absl::UnauthenticatedError("a voice token needs an authenticated agent (bearer token)");
  }
  const VoiceTokenSettings& settings = options_.voice_token;
  if (settings.account_sid.empty() || settings.api_key_sid.empty() ||
      settings.api_key_secret.empty() || settings.twiml_app_sid.empty()) {
    return absl::FailedPreconditionError(
        "voice tokens need Twilio configured: TWILIO_ACCOUNT_SID, TWILIO_API_KEY_SID, "
        "TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID");
  }
  if (request.ttl_seconds() < 0 || request.ttl_seconds() > 86400) {
    return absl::InvalidArgumentError("ttlSeconds must be between 1 and 86400 (24 hours)");
  }
  LIVECALL_ASSIGN_OR_RETURN(std::string identity, AgentIdentity(agent_id));
  VoiceTokenRequest token;
  token.account_sid = settings.account_sid;
  token.api_key_sid = settings.api_key_sid;
  token.api_key_secret = settings.api_key_secret;
  token.identity = identity;
  token.outgoing_application_sid = settings.twiml_app_sid;
  token.now = absl::Now();
  token.ttl =
      request.ttl_seconds() == 0 ? kDefaultVoiceTokenTtl : absl::Seconds(request.ttl_seconds());
  LIVECALL_ASSIGN_OR_RETURN(std::string jwt, MintVoiceToken(token));
  const absl::Time expires_at = absl::FromUnixSeconds(absl::ToUnixSeconds(token.now)) + token.ttl;
  // The agent can take calls while the token lives: inbound calls ring the agents listed here.
  LIVECALL_RETURN_IF_ERROR(calls_.MarkAgentAvailable(identity, expires_at));
  livecall::v1::VoiceToken answer;
  answer.set_token(std::move(jwt));
  answer.set_identity(identity);
  *answer.mutable_expires_at() = ToProtoTimestamp(expires_at);
  return answer;
}

CallControlService::CallControlService(TelephonyProvider& provider, CallStore& calls,
                                       QueuedUnaryMethods& unary, std::string default_caller_id,
                                       CallControlOptions options, CallSessions* sessions)
    : provider_(provider),
      calls_(calls),
      default_caller_id_(std::move(default_caller_id)),
      options_(std::move(options)),
      sessions_(sessions) {
  using livecall::v1::Call;
  using livecall::v1::CallActionRequest;
  using livecall::v1::CreateVoiceTokenRequest;
  using livecall::v1::GetCallRequest;
  using livecall::v1::ListCallsRequest;
  using livecall::v1::ListCallsResponse;
  using livecall::v1::PlaceCallRequest;
  using livecall::v1::SendDigitsRequest;
  using livecall::v1::VoiceToken;
  for (const char* method :
       {"PlaceCall", "GetCall", "ListCalls", "HoldCall", "ResumeCall", "MuteCall", "UnmuteCall",
        "HangupCall", "SendDigits", "CreateVoiceToken"}) {
    MarkQueued(method);
  }
  unary.Handle<PlaceCallRequest, Call>(
      "/livecall.v1.CallControl/PlaceCall",
      [this](const CallerIdentity& caller, grpc::ServerContextBase& context,
             const PlaceCallRequest& request, Call& response) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(
            response, PlaceOnce(request, MetadataValue(context, kIdempotencyKeyMetadata), caller));
        return absl::OkStatus();
      });
  unary.Handle<GetCallRequest, Call>(
      "/livecall.v1.CallControl/GetCall",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&, const GetCallRequest& request,
             Call& response) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(response, Read(request.call_sid(), caller));
        return absl::OkStatus();
      });
  unary.Handle<ListCallsRequest, ListCallsResponse>(
      "/livecall.v1.CallControl/ListCalls",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const ListCallsRequest& request, ListCallsResponse& response) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(response, List(request, caller));
        return absl::OkStatus();
      });
  for (const auto& [method, action] : std::initializer_list<std::pair<const char*, CallAction>>{
           {"/livecall.v1.CallControl/HoldCall", CallAction::kHold},
           {"/livecall.v1.CallControl/ResumeCall", CallAction::kResume},
           {"/livecall.v1.CallControl/MuteCall", CallAction::kMute},
           {"/livecall.v1.CallControl/UnmuteCall", CallAction::kUnmute},
           {"/livecall.v1.CallControl/HangupCall", CallAction::kHangup}}) {
    unary.Handle<CallActionRequest, Call>(
        method,
        [this, action = action](const CallerIdentity& caller, grpc::ServerContextBase&,
                                const CallActionRequest& request, Call& response) -> absl::Status {
          LIVECALL_ASSIGN_OR_RETURN(response, Act(request.call_sid(), action, "", caller));
          return absl::OkStatus();
        });
  }
  unary.Handle<SendDigitsRequest, Call>(
      "/livecall.v1.CallControl/SendDigits",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const SendDigitsRequest& request, Call& response) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(
            response, Act(request.call_sid(), CallAction::kSendDigits, request.digits(), caller));
        return absl::OkStatus();
      });
  unary.Handle<CreateVoiceTokenRequest, VoiceToken>(
      "/livecall.v1.CallControl/CreateVoiceToken",
      [this](const CallerIdentity& caller, grpc::ServerContextBase&,
             const CreateVoiceTokenRequest& request, VoiceToken& response) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(response, MintToken(caller.agent_id, request));
        return absl::OkStatus();
      });
}

}  // namespace livecall::call_control
