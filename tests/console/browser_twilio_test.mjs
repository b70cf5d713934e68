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
// and the summary arrives. Screenshots: $LIVECALL_ARTIFACTS_DIR/twilio.
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

let failed = false;
try {
  ({ page, pageErrors, shot, byTest } = await openPage(browser, artifacts));
  await page.exposeFunction("fakeTwilioVoice", fakeTwilioVoice);
  await page.route(/\/assets\/twilio-voice-sdk-[^/]+\.js$/, (route) => {
    sdkRequests.push(route.request().url());
    return route.fulfill({ contentType: "text/javascript; charset=utf-8", body: fakeSdkSource });
  });

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

  // Reloaded (the agent token is kept): no click yet, so no Device — audio would be blocked.
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#mode-badge")?.classList.contains("twilio"));
  await byTest("device-note").waitFor();
  assert.equal(await fake(() => window.fakeVoiceSdk?.devices.length ?? 0), 0);
  assert.equal(await page.locator("#device-state").getAttribute("data-state"), "waiting");
  await shot("reloaded-waiting-for-a-click");
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
