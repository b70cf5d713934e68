// A fake of @twilio/voice-sdk 2.x's Device and Call at the edges the console uses, for tests: the
// real SDK needs Twilio's signalling servers and WebRTC media, which a test cannot reach. The
// browser test serves this file in place of the SDK's chunk (assets/twilio-voice-sdk-*.js); the
// unit test imports it in Node.
//
// What Twilio does when a Device places a call is delegated to `globalThis.fakeTwilioVoice`
// ({identity, params}) => {callSid, status, twiml}: the test POSTs the TwiML App's Voice URL
// (/twilio/voice) signed as Twilio does and answers what the gateway said. The call then rings
// (parameters.CallSid set, as the SDK does on its "ringing" message) and, when the TwiML joins a
// <Conference>, is accepted; any other answer (<Say>…<Hangup/>) or an error ends it.
//
// Every Device is listed in `globalThis.fakeVoiceSdk.devices` for the test to inspect and drive
// (`device.emit("tokenWillExpire", device)`, `call.remoteDisconnect()`).

const registry = (globalThis.fakeVoiceSdk ??= { devices: [] });

class Emitter {
  #listeners = new Map();
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, []);
    this.#listeners.get(event).push(listener);
    return this;
  }
  addListener(event, listener) {
    return this.on(event, listener);
  }
  once(event, listener) {
    const wrapped = (...args) => {
      this.removeListener(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }
  off(event, listener) {
    return this.removeListener(event, listener);
  }
  removeListener(event, listener) {
    const listeners = this.#listeners.get(event) ?? [];
    this.#listeners.set(event, listeners.filter((candidate) => candidate !== listener));
    return this;
  }
  emit(event, ...args) {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) listener(...args);
    return true;
  }
}

/** The identity a Voice Access Token grants (Twilio reads it from the token the same way). */
function identityOf(token) {
  if (typeof token !== "string" || token.split(".").length !== 3) {
    throw new TypeError("Parameter \"token\" must be of type \"string\" (a Twilio Access Token)");
  }
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload)).grants?.identity ?? "";
}

export class Call extends Emitter {
  #status = "connecting";
  #muted = false;

  constructor(device, params) {
    super();
    this.device = device;
    this.direction = "OUTGOING";
    this.customParameters = new Map(Object.entries(params ?? {}));
    this.parameters = {};
    this.digits = "";
  }

  status() {
    return this.#status;
  }
  isMuted() {
    return this.#muted;
  }
  mute(shouldMute = true) {
    if (this.#muted === shouldMute) return;
    this.#muted = shouldMute;
    this.emit("mute", shouldMute, this);
  }
  sendDigits(digits) {
    if (!/^[0-9*#wW]+$/.test(digits)) throw new Error(`Illegal character passed into sendDigits: ${digits}`);
    if (this.#status !== "open") throw new Error(`sendDigits on a call that is ${this.#status}`);
    this.digits += digits;
  }
  disconnect() {
    this.#end();
  }
  /** Twilio ended this leg (the conference ended, the customer hung up). */
  remoteDisconnect() {
    this.#end();
  }

  /** What Twilio does with a placed call: the TwiML App's Voice URL decides. */
  async dial() {
    let answer;
    try {
      answer = await globalThis.fakeTwilioVoice({
        identity: this.device.identity, params: Object.fromEntries(this.customParameters),
      });
    } catch (error) {
      this.emit("error", { code: 31000, message: String(error) });
      this.#end();
      return;
    }
    if (this.#status === "closed") return;  // Hung up while connecting.
    if (answer.status !== 200) {
      this.emit("error", { code: 31005, message: `the Voice URL answered ${answer.status}` });
      this.#end();
      return;
    }
    this.parameters.CallSid = answer.callSid;
    this.#status = "ringing";
    this.emit("ringing", false);
    if (!/<Dial[\s>][\s\S]*<Conference[\s>]/.test(answer.twiml)) {
      this.#end();  // Said something and hung up.
      return;
    }
    this.#status = "open";
    this.emit("accept", this);
  }

  #end() {
    if (this.#status === "closed") return;
    this.#status = "closed";
    this.emit("disconnect", this);
  }
}

export class Device extends Emitter {
  constructor(token, options = {}) {
    super();
    this.identity = identityOf(token);
    this.token = token;
    this.options = options;
    this.state = "unregistered";
    this.calls = [];
    // Tokens handed over by updateToken, in order.
    this.updatedTokens = [];
    this.audio = { setInputDevice: async () => {}, unsetInputDevice: async () => {} };
    registry.devices.push(this);
  }

  get isBusy() {
    return this.calls.some((call) => call.status() !== "closed");
  }

  async register() {
    this.#check();
    this.state = "registered";
    this.emit("registered");
  }
  async unregister() {
    this.#check();
    this.state = "unregistered";
    this.emit("unregistered");
  }
  updateToken(token) {
    this.#check();
    this.identity = identityOf(token);
    this.token = token;
    this.updatedTokens.push(token);
  }
  async connect(options = {}) {
    this.#check();
    if (this.isBusy) throw new Error("A Call is already active");
    const call = new Call(this, options.params);
    this.calls.push(call);
    setTimeout(() => void call.dial(), 0);
    return call;
  }
  destroy() {
    for (const call of this.calls) call.disconnect();
    this.state = "destroyed";
    this.emit("destroyed");
  }

  #check() {
    if (this.state === "destroyed") throw new Error("This Device has been destroyed");
  }
}
