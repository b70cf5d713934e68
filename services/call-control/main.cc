// livecall-call-control: places and controls phone calls; the call state machine in Redis.

#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process.h"
#include "common/queued_unary.h"
#include "common/service_main.h"
#include "services/call-control/call_control_config.h"
#include "services/call-control/call_control_metrics.h"
#include "services/call-control/call_control_service.h"
#include "services/call-control/sandbox/sandbox_callee.h"
#include "services/call-control/sandbox/sandbox_provider.h"
#include "services/call-control/speech_audio_service.h"
#include "services/call-control/tts/espeak_tts.h"
#include "services/call-control/twilio/twilio_provider.h"
#include "services/call-control/twilio/twilio_webhook_service.h"

int main() {
  auto settings = livecall::StartService("call-control", "LIVECALL_CALL_CONTROL_ADDR",
                                         "LIVECALL_CALL_CONTROL_METRICS_ADDR", "127.0.0.1:9451",
                                         livecall::call_control::ReadCallControlConfig);
  if (!settings.ok()) return 2;
  livecall::call_control::CallControlConfig* const config = &settings->config;

  livecall::RegisterProcessMetrics("call-control");
  livecall::RedisPool redis(config->redis);
  livecall::call_control::CallStore calls(redis, config->call_ttl);
  livecall::Executor executor(config->worker_threads);
  // The one place that chooses the telephone network: Twilio when TWILIO_ACCOUNT_SID is set.
  const livecall::call_control::TwilioCredentials& twilio = config->twilio;
  livecall::CurlHttpClient http("twilio");
  livecall::call_control::TwilioClient twilio_client(http, {.base_url = twilio.api_base_url,
                                                            .account_sid = twilio.account_sid,
                                                            .username = twilio.rest_username(),
                                                            .password = twilio.rest_password()});
  // Speech: espeak-ng always (Uzbek, and the fallback), a remote provider when configured.
  namespace tts = livecall::call_control::tts;
  absl::StatusOr<tts::EspeakTts*> espeak = tts::EspeakTts::Get();
  if (!espeak.ok()) {
    livecall::LogError("cannot start speech synthesis",
                       {{"error", std::string(espeak.status().message())}});
    return 1;
  }
  livecall::CurlHttpClient tts_http("tts");
  std::unique_ptr<tts::RemoteTts> remote_tts;
  if (!config->speech.remote.base_url.empty()) {
    remote_tts = std::make_unique<tts::RemoteTts>(tts_http, config->speech.remote);
  }
  std::string url_secret = config->speech.url_secret;
  if (url_secret.empty()) {
    url_secret = livecall::NewId("", 32);
    livecall::LogWarning(
        "LIVECALL_TTS_URL_SECRET is not set: audio URLs are signed with a random "
        "key and work only from this replica");
  }
  const tts::AudioUrlSigner url_signer(url_secret);
  tts::AudioCache audio_cache(redis, config->speech.cache);
  tts::SpeechSynthesizer synthesizer(
      remote_tts.get(), **espeak, audio_cache, url_signer,
      {.public_url = config->public_url, .url_ttl = config->speech.url_ttl});
  livecall::call_control::PhoneSpeechRenderer speech(synthesizer, config->speech.voices);
  livecall::call_control::GrpcAiSessionClient ai_session(
      livecall::MakePeerChannel(config->ai_session_address, config->grpc_auth.client_key),
      config->ai_session_deadline);
  livecall::call_control::CallSessions sessions(
      calls, ai_session, executor,
      {.first = config->session_end_retry, .max = config->session_end_max_retry});
  livecall::call_control::VoiceAgent voice_agent(ai_session);
  std::unique_ptr<livecall::call_control::TwilioProvider> twilio_provider;
  livecall::call_control::SandboxScripts scripts;
  std::unique_ptr<livecall::call_control::SandboxCallee> callee;
  std::unique_ptr<livecall::call_control::SandboxProvider> sandbox;
  livecall::call_control::TelephonyProvider* provider = nullptr;
  if (twilio.configured()) {
    twilio_provider = std::make_unique<livecall::call_control::TwilioProvider>(
        twilio_client, calls, speech,
        livecall::call_control::TwilioProviderOptions{.public_url = config->public_url,
                                                      .hold_music_url = twilio.hold_music_url});
    provider = twilio_provider.get();
  } else {
    absl::StatusOr<livecall::call_control::SandboxScripts> loaded =
        livecall::call_control::SandboxScripts::Load(config->sandbox_script_file);
    if (!loaded.ok()) {
      livecall::LogError("cannot load the sandbox's scripts",
                         {{"error", std::string(loaded.status().message())}});
      return 2;
    }
    scripts = *std::move(loaded);
    callee = std::make_unique<livecall::call_control::SandboxCallee>(scripts, voice_agent, sessions,
                                                                     speech);
    sandbox = std::make_unique<livecall::call_control::SandboxProvider>(calls, config->sandbox,
                                                                        speech, callee.get());
    sandbox->Start();
    provider = sandbox.get();
  }

  livecall::call_control::OutboundCallLimit outbound_limit(
      redis, calls,
      {.max_active = config->max_active_calls,
       .max_per_agent = config->max_calls_per_agent,
       .allowed_prefixes = config->allowed_dial_prefixes});
  // Each RPC blocks on Redis (or Twilio) in place on one of these threads.
  livecall::QueuedUnaryMethods unary(
      {.threads = config->worker_threads, .work = livecall::QueuedWork::kMayBlock});
  livecall::call_control::CallControlService service(
      *provider, calls, unary, twilio.configured() ? twilio.caller_id : config->sandbox_caller_id,
      {.voice_token = {.account_sid = twilio.account_sid,
                       .api_key_sid = twilio.api_key_sid,
                       .api_key_secret = twilio.api_key_secret,
                       .twiml_app_sid = twilio.twiml_app_sid},
       .idempotency_ttl = config->idempotency_ttl,
       .outbound_limit = &outbound_limit},
      &sessions);
  livecall::call_control::SpeechErrorEvents speech_errors(redis, config->call_ttl);
  livecall::call_control::TwilioWebhookService webhooks(twilio_provider.get(), calls, sessions,
                                                        voice_agent, speech, executor, unary,
                                                        {.public_url = config->public_url,
                                                         .caller_id = twilio.caller_id,
                                                         .recognition = config->recognition,
                                                         .speech_errors = &speech_errors,
                                                         .outbound_limit = &outbound_limit});
  livecall::call_control::SpeechAudioService speech_audio(synthesizer, unary);
  livecall::LogInfo("telephony provider", {{"provider", std::string(provider->name())}});
  livecall::PeriodicSampler active_calls(absl::Seconds(15), [&calls] {
    absl::StatusOr<int64_t> count = calls.CountLive(absl::Now());
    if (count.ok()) livecall::call_control::ActiveCallsGauge().Set(static_cast<double>(*count));
  });
  // Every replica works off the sessions to end of calls that ended (call_sessions.h), so one
  // that ended while ai-session or this process was down still ends.
  livecall::PeriodicSampler session_ends(config->session_end_retry, [&sessions] {
    absl::StatusOr<int> ended = sessions.EndDueSessions(absl::Now());
    if (!ended.ok()) {
      livecall::LogWarning("cannot sweep the sessions to end",
                           {{"error", ended.status().ToString()}});
    }
  });

  return livecall::ServeUntilSignalThenDrain({.address = config->listen_address,
                                              .services = {&service, &webhooks, &speech_audio},
                                              .queued = &unary,
                                              .metrics_address = settings->metrics_address,
                                              .on_drain =
                                                  [&sandbox] {
                                                    if (sandbox) sandbox->Stop();
                                                  },
                                              .auth = config->grpc_auth},
                                             &executor);
}
