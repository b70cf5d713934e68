// Twilio mode: the agent's browser is a Twilio Voice client. A token from POST /api/voice/token
// tells the page it is in Twilio mode (start); the Device is created only after the agent's first
// click (register: browsers block audio until the page has had a user gesture), and kept
// registered by refreshing the token before it expires (VoiceTokenRefresher, and the Device's own
// tokenWillExpire warning). A new token is not handed to the Device during a call — Twilio warns
// that updating the token mid-call can drop audio briefly — but when the last call ends. The SDK
// is loaded only in this mode, in its own chunk (vite.config.ts), so the sandbox page stays small.

import {
  isLivecallApiError,
  VoiceTokenRefresher,
  type Call,
  type LivecallClient,
  type VoiceToken,
} from "@livecall/client";
import type { Call as TwilioCall, Device } from "@twilio/voice-sdk";

export interface TwilioPhoneEvents {
  onRegistered(registered: boolean): void;
  /** The token the Device now uses (or will be created with). */
  onToken(token: VoiceToken): void;
  onIncoming(call: TwilioCall): void;
  onError(message: string): void;
}

/** The part of @twilio/voice-sdk the page uses. */
export interface VoiceSdk {
  Device: typeof Device;
}

export interface TwilioPhoneOptions {
  /** Loads the SDK; by default the real one (tests hand in a fake). */
  loadSdk?: () => Promise<VoiceSdk>;
  /** How long before a token expires the next one is fetched. */
  refreshBeforeSeconds?: number;
}

export class TwilioPhone {
  private device: Device | null = null;
  private creating: Promise<Device> | null = null;
  private readonly refresher: VoiceTokenRefresher;
  private readonly loadSdk: () => Promise<VoiceSdk>;
  // The calls in progress on this Device: placed ones from connect(), incoming ones once accepted.
  private readonly calls = new Set<TwilioCall>();
  // The newest token fetched during a call; the Device gets it when the last call ends.
  private pendingToken: VoiceToken | null = null;
  private destroyed = false;

  constructor(client: LivecallClient, private readonly events: TwilioPhoneEvents,
              options: TwilioPhoneOptions = {}) {
    this.loadSdk = options.loadSdk ?? (() => import("@twilio/voice-sdk"));
    this.refresher = new VoiceTokenRefresher({
      createVoiceToken: (body) => client.createVoiceToken(body),
      refreshBeforeSeconds: options.refreshBeforeSeconds ?? 120,
      onToken: (token) => this.useToken(token),
      onError: (error) => events.onError(`${error.code}: ${error.message}`),
    });
  }

  /** Fetches the first token; rejects when the gateway issues none (no Twilio: the sandbox). */
  start(): Promise<VoiceToken> {
    return this.refresher.token ? Promise.resolve(this.refresher.token) : this.refresher.start();
  }

  get created(): boolean {
    return this.device !== null;
  }

  get registered(): boolean {
    return this.device?.state === "registered";
  }

  /** True while a call is in progress on this Device. */
  get busy(): boolean {
    return this.calls.size > 0;
  }

  /**
   * Creates the Device (call it from a user gesture, or once the page has had one) and registers
   * it for incoming calls.
   */
  async register(): Promise<void> {
    const device = await this.createDevice();
    if (device.state !== "registered") await device.register();
  }

  /**
   * Places a call through the TwiML App: Twilio POSTs `params` (with From=client:<identity> and the
   * call's CallSid) to the App's Voice URL, our /twilio/voice. The Call's `parameters.CallSid`
   * (this browser's leg) is set when it rings or is accepted.
   */
  async connect(params: Record<string, string>): Promise<TwilioCall> {
    const device = await this.createDevice();
    const call = await device.connect({ params });
    this.track(call);
    return call;
  }

  async setInputDevice(deviceId: string | null): Promise<void> {
    if (!this.device) return;
    if (deviceId) await this.device.audio?.setInputDevice(deviceId);
    else await this.device.audio?.unsetInputDevice();
  }

  destroy(): void {
    this.destroyed = true;
    this.refresher.stop();
    this.device?.destroy();
    this.device = null;
    this.creating = null;
    this.calls.clear();
    this.pendingToken = null;
  }

  private createDevice(): Promise<Device> {
    if (this.device) return Promise.resolve(this.device);
    this.creating ??= (async () => {
      const token = await this.start();
      const { Device } = await this.loadSdk();
      if (this.destroyed) throw new Error("the phone was closed (signed out)");
      const device = new Device(token.token ?? "", { closeProtection: true });
      device.on("registered", () => this.events.onRegistered(true));
      device.on("unregistered", () => this.events.onRegistered(false));
      device.on("error", (error: { message?: string }) =>
        this.events.onError(error.message ?? String(error)));
      device.on("incoming", (call: TwilioCall) => {
        call.on("accept", () => this.track(call));
        this.events.onIncoming(call);
      });
      device.on("tokenWillExpire", () => {
        this.refresher.refreshNow().catch((error: Error) => this.events.onError(error.message));
      });
      this.device = device;
      return device;
    })().finally(() => {
      this.creating = null;
    });
    return this.creating;
  }

  private useToken(token: VoiceToken): void {
    if (this.device && this.busy) {
      this.pendingToken = token;
      return;
    }
    this.device?.updateToken(token.token ?? "");
    this.events.onToken(token);
  }

  private track(call: TwilioCall): void {
    if (this.calls.has(call)) return;
    this.calls.add(call);
    const ended = () => {
      if (!this.calls.delete(call) || this.busy) return;
      // The last call ended: the token that came due during it, now.
      const token = this.pendingToken;
      this.pendingToken = null;
      if (!token || !this.device) return;
      this.useToken(token);
      // A token that expired during a long call unregistered the Device.
      if (this.device.state === "unregistered") {
        this.device.register().catch((error: Error) => this.events.onError(error.message));
      }
    };
    call.on("disconnect", ended);
    call.on("cancel", ended);
    call.on("reject", ended);
  }
}

/**
 * The call a browser leg is part of: GET /api/calls/{legSid}, which answers the customer's call.
 * A placed call's leg is known before the browser's Call is accepted; an incoming call's leg is
 * this agent's only once Twilio's conference participant-join has reached call-control, which can
 * come just after the accept: until then 403 (or 404) is asked again, `attempts` times at most.
 */
export async function callOfLeg(client: Pick<LivecallClient, "getCall">, legSid: string,
                                { attempts = 20, delayMs = 250 } = {}): Promise<Call> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await client.getCall(legSid);
    } catch (error) {
      const notYet = isLivecallApiError(error) && (error.status === 403 || error.status === 404);
      if (!notYet || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Runs `action` once the page has had a user gesture: now if it has (sign-in was a click),
 * else on the first click or key press.
 */
export function afterUserGesture(action: () => void): void {
  if (navigator.userActivation?.hasBeenActive) {
    action();
    return;
  }
  const once = () => {
    document.removeEventListener("pointerdown", once, true);
    document.removeEventListener("keydown", once, true);
    action();
  };
  document.addEventListener("pointerdown", once, true);
  document.addEventListener("keydown", once, true);
}
