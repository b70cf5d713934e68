#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_URL_SIGNER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_URL_SIGNER_H_

// The signed audio ids live in common/ (the gateway verifies them too).

#include "common/audio_url_signer.h"

namespace livecall::call_control::tts {

using AudioUrlSigner = ::livecall::AudioUrlSigner;

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_URL_SIGNER_H_
