// The console in Twilio mode, in Debian's Chromium (headless, playwright-core) against the real
// suite pointed at FakeTwilio (livecall-test-suite --fake-twilio). Twilio itself cannot be reached,
// so the page's Voice SDK chunk (assets/twilio-voice-sdk-*.js) is served as fake_voice_sdk.mjs,
// whose Device does what Twilio does with a browser call: this test POSTs the TwiML App's Voice
// URL (/twilio/voice) signed with the suite's auth token, with From=client:<identity>, To,
// Language and a new CallSid, and the call is accepted when the answer joins a conference. The
// test also plays Twilio's webhooks for the customer's leg (answered, a transcription line,
// completed) and checks FakeTwilio's record of call-control's REST requests.
//
// Covered: the Device is created only after a click; an agent call placed with device.connect is
// followed by its CallSid (events, the AI session and customer card, transcript and suggestions);
// hold goes through the API (a participant hold), mute and DTMF go out on the browser's own leg;
// a token refresh that falls due during the call waits for its end; hang-up ends the conference
// and the summary arrives. Then, in a second page, the real SDK: it registers and sends its
// call invite to Twilio's signalling WebSocket, answered by this test (realSdkToTwilioSignalling).
// Screenshots: $LIVECALL_ARTIFACTS_DIR/twilio.
//   LIVECALL_TEST_SUITE, LIVECALL_CONSOLE_DIR, LIVECALL_CHROMIUM, LIVECALL_ARTIFACTS_DIR (ctest)
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { startSuite, waitFor } from "../support/suite.mjs";
import { artifactsDir, env, launchBrowser, openPage, STEP_TIMEOUT_MS } from "./browser_support.mjs";

const artifacts = artifactsDir("twilio");
const fakeSdkSource = readFileSync(new URL("./fake_voice_sdk.mjs", import.meta.url), "utf8");
const suite = await startSuite(env("LIVECALL_TEST_SUITE"), {
  LIVECALL_CONSOLE_DIR: env("LIVECALL_CONSOLE_DIR"),
  LIVECALL_DEV_LOGIN: "on",
  LIVECALL_JWT_SECRET: randomBytes(32).toString("hex"),
}, { fakeTwilio: true });
const twilio = suite.twilio;
const browser = await launchBrowser();

/** X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted form fields, base64. */
function twilioSignature(url, form) {
  const fields = Object.entries(form).sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const data = url + fields.map(([name, value]) => name + value).join("");
  return createHmac("sha1", twilio.authToken).update(data, "utf8").digest("base64");
}

/** A webhook as Twilio sends it: form-encoded, signed for the public URL, to the gateway. */
async function webhook(path, form) {
  const response = await fetch(`${suite.baseUrl}${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": twilioSignature(`${twilio.publicUrl}${path}`, form),
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, contentType: response.headers.get("content-type"), body: await response.text() };
}

const newCallSid = () => `CA${randomBytes(16).toString("hex")}`;
// What the Voice URL was asked and answered, per browser call.
const voiceRequests = [];

/** Twilio's side of device.connect(): the TwiML App's Voice URL gets the call (fake_voice_sdk.mjs). */
async function fakeTwilioVoice({ identity, params }) {
  const callSid = newCallSid();
  const form = {
    AccountSid: twilio.accountSid,
    ApplicationSid: twilio.applicationSid,
    ApiVersion: "2010-04-01",
    CallSid: callSid,
    CallStatus: "ringing",
    Direction: "inbound",
    From: `client:${identity}`,
    Caller: `client:${identity}`,
    To: params.To ?? "",
    ...params,
  };
  const answer = await webhook("/twilio/voice", form);
  voiceRequests.push({ form, answer });
  return { status: answer.status, callSid, twiml: answer.body };
}

let page;
let shot;
let byTest;
let pageErrors = [];
const sdkRequests = [];
const fake = (fn, arg) => page.evaluate(fn, arg);
const waitForPage = (fn, arg) => page.waitForFunction(fn, arg);
const statusIs = (status) =>
  waitForPage((want) => document.querySelector('[data-test="call-status"]')?.dataset.status === want, status);

/** 50 ms of silence: a WAV file (16-bit mono PCM, 8 kHz). */
function silentWav() {
  const samples = 400;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write("RIFF", 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write("WAVEfmt ", 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);  // PCM
  wav.writeUInt16LE(1, 22);  // mono
  wav.writeUInt32LE(8000, 24);
  wav.writeUInt32LE(16000, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36);
  wav.writeUInt32LE(samples * 2, 40);
  return wav;
}

/**
 * The real Voice SDK as far as a headless browser gets without Twilio: a page that loads the real
 * SDK chunk, with Twilio's signalling WebSocket (wss://voice-js.*.twilio.com/signal) answered by
 * this test in the protocol's own messages. The Device registers with the token the gateway
 * issued; the Call button makes the SDK send its "invite" (a real WebRTC offer) carrying the
 * page's To and Language, which Twilio would pass to /twilio/voice. Twilio's "ringing" and
 * "hangup" then end the call, and the page is back to no call.
 */
async function realSdkToTwilioSignalling() {
  const real = await openPage(browser, artifacts);
  const signalling = [];
  let socket;
  await real.page.routeWebSocket(/^wss:\/\/voice-js\.[a-z0-9.-]+\.twilio\.com\/signal/, (ws) => {
    socket = ws;
    ws.onMessage((text) => {
      const message = JSON.parse(String(text));
      signalling.push(message);
      const reply = (type, payload) => ws.send(JSON.stringify({ type, version: message.version, payload }));
      if (message.type === "listen") {
        const identity = JSON.parse(Buffer.from(message.payload.token.split(".")[1], "base64url")).grants.identity;
        reply("connected", { region: "gll", edge: "roaming", token: { identity, ttl: 3600 } });
      } else if (message.type === "register") {
        reply("ready", {});
      }
    });
  });
  // Twilio's other hosts are not reachable either: its sounds (ringback, disconnect) are a short
  // silence here, its Insights events are accepted.
  await real.page.route(/^https:\/\/([a-z0-9-]+\.)*(twilio|twiliocdn)\.com\//, (route) =>
    /\.(mp3|wav|ogg)$/.test(new URL(route.request().url()).pathname)
      ? route.fulfill({ status: 200, contentType: "audio/wav", body: silentWav() })
      : route.fulfill({ status: 204, body: "" }));
  const sentOfType = (type) => signalling.filter((message) => message.type === type);

  await real.page.goto(`${suite.baseUrl}/`);
  await real.page.locator("#agent-id").fill("agent-1");
  await real.page.locator("#sign-in-button").click();
  await real.page.locator("#tab-settings").click();
  await real.page.waitForFunction(() => document.querySelector("#device-state")?.dataset.state === "registered");
  const [listen] = sentOfType("listen");
  const token = JSON.parse(Buffer.from(listen.payload.token.split(".")[1], "base64url"));
  assert.equal(token.grants.identity, "agent_2D1");
  assert.equal(token.grants.voice.outgoing.application_sid, twilio.applicationSid);
  await real.page.locator("#tab-live").click();

  await real.byTest("phone").fill("");
  await real.byTest("phone").pressSequentially("935550101");
  await real.byTest("language").selectOption("ru");
  await real.byTest("call").click();
  await waitFor("the SDK's invite", () => sentOfType("invite").length === 1, STEP_TIMEOUT_MS);
  const [invite] = sentOfType("invite");
  assert.match(invite.payload.sdp, /^v=0/, "a WebRTC offer");
  assert.deepEqual(Object.fromEntries(new URLSearchParams(invite.payload.twilio.params)),
    { To: "+998935550101", Language: "ru" });
  await real.page.waitForFunction(() => document.querySelector('[data-test="call-status"]')?.dataset.status === "connecting");
  await real.shot("real-sdk-connecting");

  // Twilio: the call rings (the SDK learns its CallSid), then ends without an answer.
  const callsid = newCallSid();
  const send = (type, payload) => socket.send(JSON.stringify({ type, version: invite.version, payload }));
  send("ringing", { callsid });
  send("hangup", { callsid });
  await real.page.waitForFunction(() => !document.querySelector('[data-test="call-status"]')?.dataset.status);
  assert.deepEqual(real.pageErrors, [], "no uncaught errors in the page with the real SDK");
  await real.page.context().close();
}

/**
 * A page whose Voice SDK chunk is fake_voice_sdk.mjs, Twilio's side of it played by
 * fakeTwilioVoice; `storage` (JSON) is put in its localStorage before the page's scripts run.
 */
async function openFakeSdkPage(storage) {
  const opened = await openPage(browser, artifacts);
  await opened.page.exposeFunction("fakeTwilioVoice", fakeTwilioVoice);
  await opened.page.route(/\/assets\/twilio-voice-sdk-[^/]+\.js$/, (route) => {
    sdkRequests.push(route.request().url());
    return route.fulfill({ contentType: "text/javascript; charset=utf-8", body: fakeSdkSource });
  });
  if (storage) {
    await opened.page.addInitScript((saved) => {
      for (const [key, value] of Object.entries(JSON.parse(saved))) localStorage.setItem(key, value);
    }, storage);
  }
  return opened;
}

let failed = false;
try {
  const first = await openFakeSdkPage();
  ({ page, pageErrors, shot, byTest } = first);
  await page.goto(`${suite.baseUrl}/`);
  await page.locator("#agent-id").fill("agent-1");
  await page.locator("#sign-in-button").click();
  await page.waitForFunction(() => document.querySelector("#mode-badge")?.classList.contains("twilio"));
  // Signing in was a click: the Device is created and registered at once, from the SDK's chunk.
  await waitForPage(() => window.fakeVoiceSdk?.devices.at(-1)?.state === "registered");
  assert.equal(sdkRequests.length, 1, "the page loads the Voice SDK's chunk");
  assert.equal(await fake(() => window.fakeVoiceSdk.devices.at(-1).identity), "agent_2D1");
  assert.equal(await byTest("device-note").isHidden(), true);
  await shot("signed-in-twilio");

  // The page opened again with the sign-in kept (a new browser context with the same storage, so
  // no user gesture ever happened in it): no Device until a click — audio would be blocked.
  const storage = await fake(() => JSON.stringify(localStorage));
  ({ page, pageErrors, shot, byTest } = await openFakeSdkPage(storage));
  assert.deepEqual(first.pageErrors, [], "no uncaught errors in the first page");
  await first.page.context().close();
  // Playwright runs its own evaluations as user gestures, so until the page has decided, the
  // page is read through a plain DevTools session.
  const devtools = await page.context().newCDPSession(page);
  const inPage = async (expression) =>
    (await devtools.send("Runtime.evaluate", { expression, returnByValue: true })).result.value;
  await page.goto(`${suite.baseUrl}/`);
  await waitFor("Twilio mode", () => inPage('document.querySelector("#mode-badge").classList.contains("twilio")'),
    STEP_TIMEOUT_MS);
  assert.deepEqual(JSON.parse(await inPage(`JSON.stringify({
    activated: navigator.userActivation.hasBeenActive,
    note: !document.querySelector("#device-note").hidden,
    device: document.querySelector("#device-state").dataset.state,
    devices: window.fakeVoiceSdk?.devices.length ?? 0,
  })`)), { activated: false, note: true, device: "waiting", devices: 0 });
  await devtools.detach();
  await shot("reopened-waiting-for-a-click");
  await page.locator("#tab-settings").click();
  await waitForPage(() => window.fakeVoiceSdk?.devices.at(-1)?.state === "registered");
  assert.equal(await page.locator("#device-state").getAttribute("data-state"), "registered");
  assert.equal(await fake(() => window.fakeVoiceSdk.devices.length), 1);
  await shot("settings-twilio");
  await page.locator("#tab-live").click();
  assert.equal(await byTest("device-note").isHidden(), true);

  // The agent calls a known customer: device.connect, Twilio asks /twilio/voice.
  await byTest("phone").fill("");
  await byTest("phone").pressSequentially("901112233");
  await byTest("call-mode").selectOption("agent");
  await byTest("call").click();
  await waitFor("the browser call accepted",
    () => fake(() => window.fakeVoiceSdk.devices.at(-1).calls.at(-1)?.status() === "open"), STEP_TIMEOUT_MS);
  assert.equal(voiceRequests.length, 1);
  const [{ form, answer }] = voiceRequests;
  assert.equal(form.From, "client:agent_2D1");
  assert.equal(form.To, "+998901112233");
  assert.equal(form.Language, "uz");
  assert.equal(answer.status, 200, answer.body);
  assert.match(answer.contentType, /text\/xml/);
  assert.match(answer.body, new RegExp(`<Conference[^>]*>call-${form.CallSid}</Conference>`));
  const agentLeg = form.CallSid;

  // The page follows the customer's call, found by the browser's leg.
  const token = await fake(() => localStorage.getItem("livecall.token"));
  const api = async (path) => {
    const response = await fetch(`${suite.baseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return response.json();
  };
  const call = await api(`/api/calls/${agentLeg}`);
  assert.equal(call.agentCallSid, agentLeg);
  assert.notEqual(call.callSid, agentLeg);
  assert.ok(call.sessionId, "the AI session started with the call");
  await statusIs("queued");
  await page.waitForFunction(() => document.querySelector('[data-test="greeting"]')?.textContent?.trim());
  await byTest("customer").getByText("Dilshod Karimov").waitFor();
  await shot("browser-call-ringing");

  let record = await suite.twilioRecord();
  const dialled = record.requests.filter((request) => request.operationId === "CreateParticipant");
  assert.equal(dialled.length, 1);
  assert.equal(dialled[0].pathParams.ConferenceSid, `call-${agentLeg}`);
  assert.deepEqual(dialled[0].fields.find(([name]) => name === "To"), ["To", "+998901112233"]);

  // The customer answers; then says something (Twilio's real-time transcription of the agent's
  // leg: the customer is its outbound track).
  assert.equal((await webhook("/twilio/status",
    { CallSid: call.callSid, CallStatus: "in-progress", SequenceNumber: "1" })).status, 204);
  await statusIs("in-progress");
  assert.equal((await webhook("/twilio/transcription", {
    TranscriptionEvent: "transcription-content", CallSid: agentLeg,
    TranscriptionSid: "GT00000000000000000000000000000001", SequenceId: "1", Track: "outbound_track",
    Final: "true", TranscriptionData: JSON.stringify({ transcript: "Salom, internetim ishlamayapti", confidence: 0.93 }),
  })).status, 204);
  await page.locator('[data-test="transcript"] li.customer').getByText("internetim ishlamayapti").waitFor();
  await waitForPage(() => Number(document.querySelector('[data-test="suggestions"]')?.dataset.updates ?? 0) >= 1);

  // A token refresh due mid-call: fetched, but the Device keeps its token until the call ends.
  const tokensBefore = await fake(() => window.fakeVoiceSdk.devices.at(-1).updatedTokens.length);
  const expiresBefore = await page.locator("#token-expires").textContent();
  const issued = page.waitForResponse((response) => response.url().endsWith("/api/voice/token"));
  await fake(() => {
    const device = window.fakeVoiceSdk.devices.at(-1);
    device.emit("tokenWillExpire", device);
  });
  assert.equal((await issued).status(), 200);

  // Hold: the API, a participant hold at Twilio.
  await byTest("hold").click();
  await waitForPage(() => document.querySelector('[data-test="hold"]')?.classList.contains("active"));
  await shot("on-hold");
  await byTest("hold").click();
  await waitForPage(() => !document.querySelector('[data-test="hold"]')?.classList.contains("active"));
  // Mute: the agent's own microphone, on the browser's leg.
  await byTest("mute").click();
  assert.equal(await fake(() => window.fakeVoiceSdk.devices.at(-1).calls.at(-1).isMuted()), true);
  await byTest("mute").click();
  assert.equal(await fake(() => window.fakeVoiceSdk.devices.at(-1).calls.at(-1).isMuted()), false);
  // DTMF: tones on the browser's own leg (call.sendDigits).
  await page.locator("#keypad-box summary").click();
  await page.locator('[data-test="keypad"] button[data-digit="5"]').click();
  await page.locator('[data-test="keypad"] button[data-digit="#"]').click();
  await waitForPage(() => document.querySelector('[data-test="digits-sent"]')?.textContent === "5#");
  assert.equal(await fake(() => window.fakeVoiceSdk.devices.at(-1).calls.at(-1).digits), "5#");
  assert.equal(await fake(() => window.fakeVoiceSdk.devices.at(-1).updatedTokens.length), tokensBefore,
    "no token update during the call");
  assert.equal(await page.locator("#token-expires").textContent(), expiresBefore);
  await shot("in-call");

  record = await suite.twilioRecord();
  const updates = record.requests.filter((request) => request.operationId === "UpdateParticipant");
  const field = (request, name) => request.fields.find(([key]) => key === name)?.[1];
  assert.deepEqual(updates.map((update) => [update.pathParams.CallSid, field(update, "Hold")]),
    [[call.callSid, "true"], [call.callSid, "false"]]);
  assert.deepEqual(updates.filter((update) => field(update, "Muted") ?? field(update, "AnnounceUrl")), [],
    "mute and DTMF stay on the browser's leg");

  // Hang up: the conference ends at Twilio, the browser's leg disconnects, the pending token
  // reaches the Device; Twilio reports the customer's leg completed and the summary arrives.
  await byTest("hangup").click();
  await statusIs("completed");
  await waitFor("the browser's leg disconnected",
    () => fake(() => window.fakeVoiceSdk.devices.at(-1).calls.at(-1).status() === "closed"), STEP_TIMEOUT_MS);
  assert.equal(await fake(() => window.fakeVoiceSdk.devices.at(-1).updatedTokens.length), tokensBefore + 1);
  record = await suite.twilioRecord();
  const ended = record.requests.filter((request) => request.operationId === "UpdateConference");
  assert.equal(ended.length, 1);
  assert.deepEqual(ended[0].fields, [["Status", "completed"]]);
  assert.equal((await webhook("/twilio/status",
    { CallSid: call.callSid, CallStatus: "completed", SequenceNumber: "3" })).status, 204);
  await page.waitForFunction(() => document.querySelector('[data-test="summary"]')?.textContent?.trim());
  await shot("summary");

  assert.deepEqual(record.violations, [], "call-control's requests conform to Twilio's API");
  assert.deepEqual(pageErrors, [], "no uncaught errors in the page");

  await realSdkToTwilioSignalling();
  console.log(`console.browser.twilio: passed; screenshots in ${artifacts}`);
} catch (error) {
  failed = true;
  console.error(error);
  if (page) await shot("failure").catch(() => {});
  console.error(`page errors: ${JSON.stringify(pageErrors)}`);
  suite.printLogs();
} finally {
  await browser.close();
  await suite.stop();
}
process.exit(failed ? 1 : 0);
