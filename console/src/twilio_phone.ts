// Twilio mode: the agent's browser is a Twilio Voice client. The Device is registered with a token
// from POST /api/voice/token and kept registered by refreshing the token before it expires
// (VoiceTokenRefresher, and the Device's own tokenWillExpire warning). The SDK is loaded only in
// this mode, so the sandbox page stays small.

import { VoiceTokenRefresher, type LivecallClient, type VoiceToken } from "@livecall/client";
import type { Call as TwilioCall, Device } from "@twilio/voice-sdk";

export interface TwilioPhoneEvents {
  onRegistered(registered: boolean): void;
  onToken(token: VoiceToken): void;
  onIncoming(call: TwilioCall): void;
  onError(message: string): void;
}

export class TwilioPhone {
  private device: Device | null = null;
  private refresher: VoiceTokenRefresher;

  constructor(client: LivecallClient, private readonly events: TwilioPhoneEvents) {
    this.refresher = new VoiceTokenRefresher({
      createVoiceToken: (body) => client.createVoiceToken(body),
      refreshBeforeSeconds: 120,
      onToken: (token) => {
        this.device?.updateToken(token.token ?? "");
        events.onToken(token);
      },
      onError: (error) => events.onError(`${error.code}: ${error.message}`),
    });
  }

  get registered(): boolean {
    return this.device?.state === "registered";
  }

  /** Fetches a token, creates the Device and registers it for incoming calls. */
  async register(): Promise<void> {
    const token = this.refresher.token ?? (await this.refresher.start());
    if (!this.device) {
      const { Device } = await import("@twilio/voice-sdk");
      const device = new Device(token.token ?? "", { closeProtection: true });
      device.on("registered", () => this.events.onRegistered(true));
      device.on("unregistered", () => this.events.onRegistered(false));
      device.on("error", (error: { message?: string }) =>
        this.events.onError(error.message ?? String(error)));
      device.on("incoming", (call: TwilioCall) => this.events.onIncoming(call));
      device.on("tokenWillExpire", () => {
        this.refresher.refreshNow().catch((error: Error) => this.events.onError(error.message));
      });
      this.device = device;
    }
    if (this.device.state !== "registered") await this.device.register();
  }

  async setInputDevice(deviceId: string | null): Promise<void> {
    if (!this.device) return;
    if (deviceId) await this.device.audio?.setInputDevice(deviceId);
    else await this.device.audio?.unsetInputDevice();
  }

  destroy(): void {
    this.refresher.stop();
    this.device?.destroy();
    this.device = null;
  }
}
