// The Live Call console. Plain TypeScript over the static markup of index.html: one state
// object, and functions that show it. Every call to the back end goes through the typed client
// (@livecall/client), generated from the same protos as the gateway.

import "./style.css";
import {
  createLivecallClient,
  isLivecallApiError,
  type Call,
  type Customer,
  type LiveEventStream,
  type PlaceCallRequest,
  type Session,
  type Suggestion,
  type Summary,
  type Turn,
  type TypedLiveEvent,
  type VoiceToken,
} from "@livecall/client";
import type { Call as TwilioCall } from "@twilio/voice-sdk";
import { MicrophoneMeter, SandboxSpeaker, type SpeakerSource } from "./audio";
import { initialLanguage, languages, translate, type Lang, type MessageKey } from "./i18n";
import { formatPhone, uzbekE164 } from "./phone";
import { afterUserGesture, callOfLeg, TwilioPhone } from "./twilio_phone";

const TERMINAL_STATUSES = new Set(["completed", "busy", "failed", "no-answer", "canceled"]);
const storage = window.localStorage;

// The call as the page shows it: a browser-placed call has no record until Twilio answers, and
// the page shows it "connecting" meanwhile (placeBrowserCall).
type ShownCall = Omit<Call, "status"> & { status?: Call["status"] | "connecting" };

interface State {
  lang: Lang;
  token: string | null;
  agentId: string | null;
  mode: "checking" | "sandbox" | "twilio";
  modeReason: string;
  view: "live" | "settings";
  call: ShownCall | null;
  session: Session | null;
  customer: Customer | null;
  transcript: Turn[];
  suggestions: Suggestion[];
  summary: Summary | null;
  deviceRegistered: boolean;
  // Twilio mode: the Device exists (it is created after the agent's first click).
  deviceCreated: boolean;
  voiceToken: VoiceToken | null;
  microphoneId: string | null;
  speakerSource: SpeakerSource | null;
  micState: "off" | "on" | "denied";
  // Who talks with the customer: the agent, or the AI voice agent (the agent watches).
  callMode: "agent" | "ai";
}

const state: State = {
  lang: initialLanguage(storage.getItem("livecall.lang"), navigator.languages ?? []),
  token: null,
  agentId: null,
  mode: "checking",
  modeReason: "",
  view: "live",
  call: null,
  session: null,
  customer: null,
  transcript: [],
  suggestions: [],
  summary: null,
  deviceRegistered: false,
  deviceCreated: false,
  voiceToken: null,
  microphoneId: storage.getItem("livecall.microphone"),
  speakerSource: null,
  micState: "off",
  callMode: "agent",
};

const client = createLivecallClient({ token: () => state.token });
let events: LiveEventStream<TypedLiveEvent> | null = null;
let twilioPhone: TwilioPhone | null = null;
let twilioCall: TwilioCall | null = null;
let incomingCall: TwilioCall | null = null;
let timer: ReturnType<typeof setInterval> | undefined;
// How many times live suggestions replaced the list during this call.
let suggestionUpdates = 0;
// The last synthesised-speech URL played, so a repeated status event does not replay it.
let playedAudio = "";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const t = (key: MessageKey) => translate(state.lang, key);

function element(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------------------------------------
// Errors

function showError(error: unknown): void {
  const message = isLivecallApiError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error ? error.message : String(error);
  $("error-text").textContent = `${t("errorPrefix")}: ${message}`;
  $("error").hidden = false;
}

async function guarded(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    // An expired or refused token: back to sign-in, with the gateway's reason shown.
    if (isLivecallApiError(error) && error.status === 401 && state.token) signOut();
    showError(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

function renderLanguage(): void {
  document.documentElement.lang = state.lang;
  document.title = `${t("title")} — Livecall`;
  document.querySelectorAll<HTMLElement>("[data-i18n]").forEach((node) => {
    node.textContent = t(node.dataset.i18n as MessageKey);
  });
  document.querySelectorAll<HTMLInputElement>("[data-i18n-placeholder]").forEach((node) => {
    node.placeholder = t(node.dataset.i18nPlaceholder as MessageKey);
  });
  for (const id of ["language", "settings-language"]) $<HTMLSelectElement>(id).value = state.lang;
  render();
}

function render(): void {
  const signedIn = state.token !== null;
  $("sign-in").hidden = signedIn;
  $("nav").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  $("agent").hidden = !signedIn;
  $("agent").textContent = `${t("signedInAs")}: ${state.agentId ?? ""}`;
  $("live").hidden = !signedIn || state.view !== "live";
  $("settings").hidden = !signedIn || state.view !== "settings";
  $("tab-live").classList.toggle("active", state.view === "live");
  $("tab-settings").classList.toggle("active", state.view === "settings");

  const badge = $("mode-badge");
  badge.hidden = !signedIn;
  badge.className = `badge ${state.mode}`;
  badge.textContent = t(state.mode === "twilio" ? "modeTwilio" : state.mode === "sandbox" ? "modeSandbox" : "modeChecking");

  renderCall();
  renderAi();
  renderSettings();
}

function renderCall(): void {
  const call = state.call;
  const status = call?.status ?? "";
  const active = call !== null && !TERMINAL_STATUSES.has(status);
  const talking = status === "in-progress";
  $<HTMLButtonElement>("call-button").disabled = active || state.mode === "checking";
  $<HTMLButtonElement>("hangup-button").disabled = !active;
  $<HTMLInputElement>("phone").disabled = active;
  const statusKey = `status_${status}` as MessageKey;
  $("call-status").textContent = call ? (translate("en", statusKey) ? t(statusKey) : status) : t("noCall");
  $("call-status").dataset.status = status;

  const muteButton = $<HTMLButtonElement>("mute-button");
  muteButton.disabled = !talking;
  muteButton.textContent = t(call?.muted ? "unmute" : "mute");
  muteButton.classList.toggle("active", Boolean(call?.muted));
  const holdButton = $<HTMLButtonElement>("hold-button");
  holdButton.disabled = !talking;
  holdButton.textContent = t(call?.onHold ? "resume" : "hold");
  holdButton.classList.toggle("active", Boolean(call?.onHold));
  document.querySelectorAll<HTMLButtonElement>("#keypad button").forEach((key) => {
    key.disabled = !talking;
  });
  $("digits-sent").textContent = call?.digitsSent ?? "";

  const flags = $("call-flags");
  flags.replaceChildren();
  if (call?.onHold) flags.append(element("span", "flag", t("onHold")));
  if (call?.muted) flags.append(element("span", "flag", t("muted")));

  $("call-timer").textContent = formatDuration(callSeconds(call));
  const micNote = { off: t("micOff"), on: "", denied: t("micDenied") }[state.micState];
  $("mic-note").textContent = state.mode === "twilio" ? t("twilioAudio") : micNote;
  $("speaker-note").textContent = state.speakerSource === "scripted" ? t("scriptedAudio")
    : state.speakerSource === "twilio" ? t("twilioAudio")
    : state.speakerSource === "simulated" ? t("simulatedSignal") : "";
  $("say-form").hidden = !state.session || state.summary !== null || state.callMode === "ai";
  $<HTMLSelectElement>("call-mode").disabled = active;
  $("device-note").hidden = state.mode !== "twilio" || state.deviceCreated;
}

/** Seconds since the call was answered (until it ended). */
function callSeconds(call: ShownCall | null): number {
  const history = call?.history ?? [];
  const answered = history.find((event) => event.status === "in-progress")?.at;
  if (!answered) return 0;
  const ended = history.find((event) => TERMINAL_STATUSES.has(event.status ?? ""))?.at;
  const end = ended ? Date.parse(ended) : Date.now();
  return Math.max(0, Math.floor((end - Date.parse(answered)) / 1000));
}

function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${String(minutes).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

function renderAi(): void {
  const customer = state.customer;
  const card = $("customer-card");
  card.hidden = customer === null;
  if (customer) {
    const list = document.createElement("dl");
    const row = (label: string, value: string) => {
      if (!value) return;
      list.append(element("dt", "", label), element("dd", "", value));
    };
    row(t("phoneNumber"), formatPhone(customer.phoneNumber ?? ""));
    row(t("language"), languages.find((l) => l.code === customer.language)?.label ?? customer.language ?? "");
    // CRM attribute names as labels: "open_issue" -> "Open issue".
    for (const [name, value] of Object.entries(customer.attributes ?? {}).sort()) {
      const label = name.replace(/[_-]+/g, " ");
      row(label.charAt(0).toUpperCase() + label.slice(1), value);
    }
    row(t("notes"), (customer.notes ?? []).join("; "));
    card.replaceChildren(
      element("div", "name", customer.known ? customer.name ?? "" : t("unknownCustomer")), list);
  }

  const greeting = state.session?.greeting ?? "";
  $("greeting-box").hidden = greeting === "";
  $("greeting").textContent = greeting;

  const suggestions = $("suggestions");
  suggestions.replaceChildren(...state.suggestions.map((suggestion) => {
    const item = element("li", "", suggestion.text ?? "");
    const use = element("button", "", t("useSuggestion"));
    use.addEventListener("click", () => {
      $<HTMLInputElement>("say-input").value = suggestion.text ?? "";
      $<HTMLInputElement>("say-input").focus();
    });
    item.append(use);
    return item;
  }));
  $("suggestions-empty").hidden = state.suggestions.length > 0;
  suggestions.dataset.updates = String(suggestionUpdates);

  const transcript = $("transcript");
  transcript.replaceChildren(...state.transcript.map((turn) => {
    const speaker = turn.speaker ?? "customer";
    const item = element("li", speaker);
    const label = translate("en", `speaker_${speaker}` as MessageKey) ? t(`speaker_${speaker}` as MessageKey) : speaker;
    item.append(element("span", "who", label), document.createTextNode(turn.text ?? ""));
    return item;
  }));
  transcript.scrollTop = transcript.scrollHeight;
  $("transcript-empty").hidden = state.transcript.length > 0;

  const summary = state.summary;
  $("summary-box").hidden = summary === null;
  $("summary-waiting").hidden = summary !== null || state.call === null ||
    !TERMINAL_STATUSES.has(state.call.status ?? "") || !state.session;
  if (summary) {
    const box = $("summary");
    box.replaceChildren(element("p", "", summary.text ?? ""));
    const list = document.createElement("dl");
    const row = (label: string, value: string | undefined) => {
      if (value) list.append(element("dt", "", label), element("dd", "", value));
    };
    row(t("intent"), summary.customerIntent);
    row(t("agreed"), summary.agreed);
    row(t("followUps"), (summary.followUps ?? []).join("; "));
    box.append(list);
  }
}

function renderSettings(): void {
  $("mode-explain").textContent = state.mode === "twilio" ? t("twilioExplain")
    : state.mode === "sandbox" ? t("sandboxExplain") : t("modeChecking");
  $("mode-reason").textContent = state.mode === "sandbox" && state.modeReason
    ? `${t("reason")}: ${state.modeReason}` : "";
  $("twilio-settings").hidden = state.mode !== "twilio";
  $("device-state").textContent = t(state.deviceRegistered ? "deviceRegistered"
    : state.deviceCreated ? "deviceUnregistered" : "deviceWaiting");
  $("device-state").dataset.state = state.deviceRegistered ? "registered"
    : state.deviceCreated ? "unregistered" : "waiting";
  $("token-expires").textContent = state.voiceToken?.expiresAt
    ? new Date(state.voiceToken.expiresAt).toLocaleString(state.lang) : "";
  $("mic-test-button").textContent = t(micTest.running ? "stopTest" : "testMicrophone");
  $("gateway-url").textContent = window.location.origin;
}

// ---------------------------------------------------------------------------------------------
// Audio

// The meter shows the level; data-peak keeps the highest since the page loaded (for tests and
// for a glance at whether anything was heard at all).
const setMeter = (id: string) => (level: number) => {
  const meter = $<HTMLMeterElement>(id);
  meter.value = level;
  if (level > Number(meter.dataset.peak ?? 0)) meter.dataset.peak = level.toFixed(3);
};
const microphone = new MicrophoneMeter(setMeter("mic-meter"));
const micTest = new MicrophoneMeter(setMeter("mic-test-meter"));
const speaker = new SandboxSpeaker(setMeter("speaker-meter"), (source) => {
  state.speakerSource = source;
  renderCall();
});

async function startMicrophone(): Promise<void> {
  try {
    await microphone.start(state.microphoneId);
    state.micState = "on";
  } catch {
    state.micState = "denied";
  }
  renderCall();
}

function stopAudio(): void {
  microphone.stop();
  state.micState = "off";
}

async function listMicrophones(): Promise<void> {
  const select = $<HTMLSelectElement>("microphone");
  const devices = navigator.mediaDevices ? await navigator.mediaDevices.enumerateDevices() : [];
  const options = [new Option(t("defaultMicrophone"), "")];
  devices.filter((device) => device.kind === "audioinput" && device.deviceId !== "default")
    .forEach((device, index) =>
      options.push(new Option(device.label || `${t("microphone")} ${index + 1}`, device.deviceId)));
  select.replaceChildren(...options);
  select.value = state.microphoneId ?? "";
}

// ---------------------------------------------------------------------------------------------
// Sign-in and the telephony mode

function loadStoredToken(): void {
  const token = storage.getItem("livecall.token");
  const expiresAt = Number(storage.getItem("livecall.tokenExpiresAt") ?? 0);
  if (token && expiresAt > Date.now() + 60_000) {
    state.token = token;
    state.agentId = storage.getItem("livecall.agentId");
  }
}

function signedIn(token: string, agentId: string, expiresAt: string | undefined): void {
  state.token = token;
  state.agentId = agentId;
  storage.setItem("livecall.token", token);
  storage.setItem("livecall.agentId", agentId);
  storage.setItem("livecall.tokenExpiresAt",
                  String(expiresAt ? Date.parse(expiresAt) : Date.now() + 3600_000));
  render();
  void detectMode();
}

function signOut(): void {
  closeEvents();
  twilioPhone?.destroy();
  twilioPhone = null;
  twilioCall = null;
  stopAudio();
  for (const key of ["livecall.token", "livecall.agentId", "livecall.tokenExpiresAt"]) storage.removeItem(key);
  Object.assign(state, { token: null, agentId: null, mode: "checking", call: null, session: null,
                         customer: null, transcript: [], suggestions: [], summary: null,
                         deviceCreated: false, deviceRegistered: false });
  render();
}

/** The agent id from a JWT's `sub` (display only; the gateway verifies the token). */
function subjectOf(token: string): string {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return String(payload.sub ?? "");
  } catch {
    return "";
  }
}

/** Twilio when the gateway issues a Voice token, else the sandbox (with the gateway's reason). */
async function detectMode(): Promise<void> {
  state.mode = "checking";
  render();
  const phone = new TwilioPhone(client, {
    onRegistered: (registered) => {
      state.deviceRegistered = registered;
      render();
    },
    onToken: (token) => {
      state.voiceToken = token;
      render();
    },
    onIncoming: (call) => {
      incomingCall = call;
      $("incoming-from").textContent = call.parameters.From ?? "";
      $("incoming").hidden = false;
      call.on("cancel", () => ($("incoming").hidden = true));
    },
    onError: (message) => showError(message),
  });
  try {
    state.voiceToken = await phone.start();
  } catch (error) {
    phone.destroy();
    state.mode = "sandbox";
    state.modeReason = isLivecallApiError(error) ? `${error.code}: ${error.message}` : String(error);
    render();
    return;
  }
  twilioPhone = phone;
  state.mode = "twilio";
  render();
  // Browsers allow audio only after a user gesture: the Device waits for one.
  afterUserGesture(() => {
    if (twilioPhone !== phone) return;  // Signed out meanwhile.
    state.deviceCreated = true;
    render();
    void guarded(() => phone.register());
  });
}

// ---------------------------------------------------------------------------------------------
// The call

function resetConversation(): void {
  closeEvents();
  Object.assign(state, { call: null, session: null, customer: null, transcript: [],
                         suggestions: [], summary: null, speakerSource: null });
  suggestionUpdates = 0;
}

function closeEvents(): void {
  events?.close();
  events = null;
  clearInterval(timer);
}

async function placeCall(): Promise<void> {
  const to = uzbekE164($<HTMLInputElement>("phone").value);
  if (!to) {
    showError(t("phoneInvalid"));
    return;
  }
  $("error").hidden = true;
  resetConversation();
  // Sandbox: the agent (or the AI voice agent) talks with a simulated customer who says scripted
  // lines. Twilio, mode "ai": call-control dials the customer and the AI voice agent talks.
  // Twilio, mode "agent": this browser places the call (placeBrowserCall).
  const mode = $<HTMLSelectElement>("call-mode").value;
  state.callMode = mode === "ai" ? "ai" : "agent";
  if (state.mode === "twilio" && state.callMode === "agent") {
    // The SDK opens the microphone itself; its Call's volume events feed the meters.
    await placeBrowserCall(to);
    return;
  }
  void startMicrophone();
  const request: PlaceCallRequest = { to, mode: state.callMode };
  const call = await client.configureTTS(request, { idempotencyKey: randomKey() });
  followCall(call);
}

/**
 * Twilio, the agent talks: device.connect({params: {To, Language}}) makes Twilio POST the TwiML
 * App's Voice URL (/twilio/voice, From=client:<identity>), where call-control dials the customer
 * into a conference, starts the AI session and joins this browser's leg to it. Once the leg is
 * accepted its CallSid names the call: GET /api/calls/{sid} (either leg) answers the customer's
 * call, whose live events, AI session and hold/mute/hang-up routes the page then uses.
 */
async function placeBrowserCall(to: string): Promise<void> {
  if (!twilioPhone) return;
  // Until Twilio answers there is no call record; the page shows the call connecting.
  state.call = { to, status: "connecting", provider: "twilio" };
  render();
  try {
    const call = await twilioPhone.connect({ To: to, Language: state.lang });
    adoptTwilioCall(call);
  } catch (error) {
    state.call = null;
    render();
    throw error;
  }
}

/** 32 random hex digits (crypto.randomUUID needs a secure context; plain-http LAN pages lack it). */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Shows the call and follows its live events until the summary (or the end) arrives. */
function followCall(call: Call): void {
  state.call = call;
  render();
  // The call's AI session, when it already has one (a browser call's starts with the call); its
  // session.started event, replayed by the stream, says the same.
  if (call.sessionId) void loadSession(call.sessionId);
  clearInterval(timer);
  timer = setInterval(renderCall, 1000);
  const stream = client.watchCall(call.callSid ?? "");
  events = stream;
  void (async () => {
    try {
      for await (const { data: event } of stream) onLiveEvent(event);
    } catch (error) {
      if (events === stream) showError(error);
    }
  })();
}

function onLiveEvent(event: TypedLiveEvent): void {
  switch (event.type) {
    case "call.status": {
      // The suite's own synthesised voice (Uzbek TTS, the AI voice agent), when the back end
      // has it: played and metered.
      const audio = event.call.audioUrl;
      if (audio && audio !== playedAudio && state.mode === "sandbox") {
        playedAudio = audio;
        speaker.playUrl(audio).catch(() => undefined);
      }
      state.call = { ...state.call, ...event.call };
      if (TERMINAL_STATUSES.has(event.call.status ?? "")) {
        stopAudio();
        // A call without an AI session has no summary to wait for.
        if (!state.session && !event.call.sessionId) closeEvents();
      }
      break;
    }
    case "session.started":
      state.session = event.session;
      state.customer = event.session.customer ?? null;
      // The event carries the session's header (customer, greeting); its first suggestions come
      // with the session itself. Later ones arrive as events and win.
      if (event.session.sessionId) void loadFirstSuggestions(event.session.sessionId);
      break;
    case "transcript":
      state.transcript.push(event.turn);
      // The sandbox's scripted customer has words but no voice: the speaker meter follows a
      // generated signal, labelled as simulated.
      if (event.turn.speaker === "customer" && state.mode === "sandbox") {
        speaker.simulate(event.turn.text ?? "");
      }
      break;
    case "suggestions":
      state.suggestions = event.suggestions.suggestions ?? [];
      suggestionUpdates += 1;
      break;
    case "summary":
      state.summary = event.summary;
      closeEvents();
      break;
    case "speech.error": {
      // Twilio could not recognise speech: the transcript (or the voice agent's hearing) has a gap.
      const { source, code, message } = event.speechError;
      showError(`${t("speechError")} (${source ?? ""}${code ? ` ${code}` : ""}): ${message ?? ""}`);
      break;
    }
  }
  render();
}

async function loadSession(sessionId: string): Promise<void> {
  await guarded(async () => {
    const session = await client.getSession(sessionId);
    if (state.call?.sessionId !== sessionId) return;  // Another call meanwhile.
    if (state.session?.sessionId !== sessionId) {
      state.session = session;
      state.customer = session.customer ?? null;
    }
    if (suggestionUpdates === 0) state.suggestions = session.suggestions ?? [];
    render();
  });
}

async function loadFirstSuggestions(sessionId: string): Promise<void> {
  const updatesBefore = suggestionUpdates;
  await guarded(async () => {
    const session = await client.getSession(sessionId);
    if (suggestionUpdates === updatesBefore && state.session?.sessionId === sessionId) {
      state.suggestions = session.suggestions ?? [];
      render();
    }
  });
}

/**
 * Twilio mode: the browser's leg of a call, placed or incoming. Once accepted, its CallSid names
 * the call for the API and the events (GET /api/calls/{sid} answers the customer's call).
 */
function adoptTwilioCall(call: TwilioCall): void {
  twilioCall = call;
  state.speakerSource = "twilio";
  call.on("volume", (input: number, output: number) => {
    setMeter("mic-meter")(input);
    setMeter("speaker-meter")(output);
  });
  call.on("accept", () => {
    const sid = call.parameters.CallSid;
    if (sid) void guarded(async () => followCall(await callOfLeg(client, sid)));
  });
  call.on("disconnect", () => {
    if (twilioCall !== call) return;
    twilioCall = null;
    stopAudio();
    // Ended before Twilio answered (e.g. the agent hung up while connecting): nothing to follow.
    if (state.call?.status === "connecting") state.call = null;
    render();
  });
}

async function callAction(action: "hold" | "resume" | "mute" | "unmute" | "hangup"): Promise<void> {
  const sid = state.call?.callSid;
  if (!sid) {
    // A browser call that Twilio has not answered yet: only hanging up makes sense.
    if (action === "hangup") twilioCall?.disconnect();
    return;
  }
  if (state.mode === "twilio" && twilioCall && (action === "mute" || action === "unmute")) {
    // In Twilio mode Mute is the agent's own microphone, as in any softphone.
    twilioCall?.mute(action === "mute");
    state.call = { ...state.call, muted: action === "mute" };
    render();
    return;
  }
  const operations = {
    hold: client.holdCall, resume: client.resumeCall, mute: client.muteCall,
    unmute: client.unmuteCall, hangup: client.hangupCall,
  };
  const call = await operations[action](sid);
  state.call = { ...state.call, ...call };
  if (action === "hangup") twilioCall?.disconnect();
  render();
}

// ---------------------------------------------------------------------------------------------
// Wiring

function init(): void {
  for (const id of ["language", "settings-language"]) {
    const select = $<HTMLSelectElement>(id);
    select.replaceChildren(...languages.map((lang) => new Option(lang.label, lang.code)));
    select.addEventListener("change", () => {
      state.lang = select.value as Lang;
      storage.setItem("livecall.lang", state.lang);
      renderLanguage();
    });
  }
  $("error-close").addEventListener("click", () => ($("error").hidden = true));
  $("tab-live").addEventListener("click", () => {
    state.view = "live";
    render();
  });
  $("tab-settings").addEventListener("click", () => {
    state.view = "settings";
    render();
    void listMicrophones();
  });
  $("sign-out").addEventListener("click", signOut);

  $("dev-login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = $<HTMLButtonElement>("sign-in-button");
    button.disabled = true;
    button.textContent = t("signingIn");
    const agentId = $<HTMLInputElement>("agent-id").value.trim();
    client.devLogin({ agentId, role: "agent" })
      .then((login) => signedIn(login.token ?? "", login.agentId ?? agentId, login.expiresAt))
      .catch((error) => {
        if (isLivecallApiError(error) && error.status === 404) $("token-form").hidden = false;
        else showError(error);
      })
      .finally(() => {
        button.disabled = false;
        button.textContent = t("signIn");
      });
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $<HTMLTextAreaElement>("token-input").value.trim();
    signedIn(token, subjectOf(token), undefined);
  });

  const phone = $<HTMLInputElement>("phone");
  phone.value = storage.getItem("livecall.lastNumber") ?? "+998 ";
  phone.addEventListener("input", () => {
    phone.value = formatPhone(phone.value);
  });
  $("call-form").addEventListener("submit", (event) => {
    event.preventDefault();
    storage.setItem("livecall.lastNumber", phone.value);
    void guarded(placeCall);
  });
  $("hangup-button").addEventListener("click", () => void guarded(() => callAction("hangup")));
  $("mute-button").addEventListener("click",
    () => void guarded(() => callAction(state.call?.muted ? "unmute" : "mute")));
  $("hold-button").addEventListener("click",
    () => void guarded(() => callAction(state.call?.onHold ? "resume" : "hold")));

  const keypad = $("keypad");
  for (const digit of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
    const key = element("button", "", digit) as HTMLButtonElement;
    key.type = "button";
    key.dataset.digit = digit;
    key.addEventListener("click", () => void guarded(async () => {
      const sid = state.call?.callSid;
      if (!sid) return;
      if (twilioCall) {
        // Twilio with this browser on the call: the tones go out on its own leg, as on any
        // phone. The server's DTMF (a participant announcement) is for calls without one.
        twilioCall.sendDigits(digit);
        state.call = { ...state.call, digitsSent: `${state.call?.digitsSent ?? ""}${digit}` };
      } else {
        state.call = { ...state.call, ...(await client.sendDigits(sid, { digits: digit })) };
      }
      render();
    }));
    keypad.append(key);
  }

  $("say-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>("say-input");
    const text = input.value.trim();
    const sessionId = state.session?.sessionId;
    if (!text || !sessionId) return;
    // The transcript line and the new suggestions arrive as live events.
    void guarded(async () => {
      await client.addTurn(sessionId, { speaker: "agent", text });
      input.value = "";
    });
  });

  $("incoming-accept").addEventListener("click", () => {
    if (!incomingCall) return;
    adoptTwilioCall(incomingCall);
    incomingCall.accept();
    incomingCall = null;
    $("incoming").hidden = true;
    void startMicrophone();
  });
  $("incoming-reject").addEventListener("click", () => {
    incomingCall?.reject();
    incomingCall = null;
    $("incoming").hidden = true;
  });
  $("register-button").addEventListener("click", () => void guarded(async () => {
    await twilioPhone?.register();
  }));
  $("microphone").addEventListener("change", () => void guarded(async () => {
    state.microphoneId = $<HTMLSelectElement>("microphone").value || null;
    if (state.microphoneId) storage.setItem("livecall.microphone", state.microphoneId);
    else storage.removeItem("livecall.microphone");
    await twilioPhone?.setInputDevice(state.microphoneId);
    if (micTest.running) await micTest.start(state.microphoneId);
  }));
  $("mic-test-button").addEventListener("click", () => void guarded(async () => {
    if (micTest.running) micTest.stop();
    else await micTest.start(state.microphoneId);
    await listMicrophones();  // Labels appear once the page may use the microphone.
    renderSettings();
  }));

  loadStoredToken();
  renderLanguage();
  if (state.token) void detectMode();
}

init();
