// Keeps a Twilio Voice Access Token fresh for @twilio/voice-sdk's Device: fetches one from
// POST /api/voice/token, hands it over (new Device(token) the first time, device.updateToken(token)
// afterwards), and fetches the next one `refreshBeforeSeconds` before the current one expires.
// The Device's own "tokenWillExpire" event can call refreshNow() as well.

import type { VoiceToken } from "./generated.js";
import { LivecallApiError } from "./transport.js";

export interface VoiceTokenRefresherOptions {
  /** POST /api/voice/token, e.g. `(body) => client.createVoiceToken(body)`. */
  createVoiceToken: (body: { ttlSeconds?: number }) => Promise<VoiceToken>;
  /** Receives every new token. */
  onToken: (token: VoiceToken) => void;
  /** A refresh failed (it is retried after `retryDelaySeconds`). */
  onError?: (error: LivecallApiError) => void;
  ttlSeconds?: number;
  refreshBeforeSeconds?: number;
  retryDelaySeconds?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export class VoiceTokenRefresher {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private current: VoiceToken | undefined;

  constructor(private readonly options: VoiceTokenRefresherOptions) {}

  /** Fetches the first token (rejects when the gateway refuses: no Twilio, no agent token). */
  async start(): Promise<VoiceToken> {
    this.stopped = false;
    return this.refreshNow();
  }

  /** Fetches a new token now and schedules the next refresh. */
  async refreshNow(): Promise<VoiceToken> {
    clearTimeout(this.timer);
    const token = await this.options.createVoiceToken(
      this.options.ttlSeconds ? { ttlSeconds: this.options.ttlSeconds } : {});
    if (this.stopped) return token;
    this.current = token;
    this.options.onToken(token);
    this.schedule(this.delayBeforeRefreshMs(token));
    return token;
  }

  /** The milliseconds until `token` should be replaced (never below one second). */
  delayBeforeRefreshMs(token: VoiceToken): number {
    const now = (this.options.now ?? Date.now)();
    const expires = token.expiresAt ? Date.parse(token.expiresAt) : NaN;
    const lead = (this.options.refreshBeforeSeconds ?? 60) * 1000;
    if (Number.isNaN(expires)) return 5 * 60 * 1000;
    return Math.max(1000, expires - lead - now);
  }

  get token(): VoiceToken | undefined {
    return this.current;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.refreshNow().catch((error: unknown) => {
        if (this.stopped) return;
        const failure = error instanceof LivecallApiError
          ? error
          : new LivecallApiError(0, "UNKNOWN", String(error));
        this.options.onError?.(failure);
        this.schedule((this.options.retryDelaySeconds ?? 10) * 1000);
      });
    }, delayMs);
  }
}
