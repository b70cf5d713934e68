// The console's pure parts — phone formatting, the choice of language, the translations — and
// TwilioPhone's Device and token handling against the fake Voice SDK (fake_voice_sdk.mjs), in
// node, compiled from console/src with the esbuild that Vite brings (console/node_modules).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { waitFor } from "../support/suite.mjs";
import * as fakeSdk from "./fake_voice_sdk.mjs";
import { fileURLToPath } from "node:url";

const consoleDir = join(dirname(fileURLToPath(import.meta.url)), "../../console");
const esbuild = createRequire(join(consoleDir, "package.json"))("esbuild");

/** console/src/`file`, bundled; or, with `contents`, that module (in console/src) bundled. */
async function load(file, contents) {
  const { outputFiles } = await esbuild.build({
    ...(contents ? { stdin: { contents, resolveDir: join(consoleDir, "src"), loader: "ts" } }
      : { entryPoints: [join(consoleDir, "src", file)] }),
    bundle: true, format: "esm", platform: "neutral", write: false,
    alias: { "@livecall/client": join(consoleDir, "../clients/typescript/src/index.ts") },
    external: ["@twilio/voice-sdk"],
  });
  return import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString("base64")}`);
}
const { formatPhone, uzbekE164 } = await load("phone.ts");
const { messages, initialLanguage } = await load("i18n.ts");
// With the client's error class from the same bundle, so that instanceof holds.
const { TwilioPhone, callOfLeg, LivecallApiError } = await load("", `
  export * from "./twilio_phone.ts";
  export { LivecallApiError } from "@livecall/client";`);

test("numbers are formatted as the agent types them", () => {
  assert.equal(formatPhone("901112233"), "+998 90 111 22 33");
  assert.equal(formatPhone("+998901112233"), "+998 90 111 22 33");
  assert.equal(formatPhone("998 90 111-22-33"), "+998 90 111 22 33");
  assert.equal(formatPhone("+998 9"), "+998 9");
  assert.equal(formatPhone("90111"), "+998 90 111");
  assert.equal(formatPhone("+998 90 111 22 33 44"), "+998 90 111 22 33", "extra digits dropped");
  assert.equal(formatPhone("+1 415 555 0100"), "+14155550100");
  assert.equal(formatPhone(""), "");
  assert.equal(formatPhone("+"), "+");
});

test("only a complete Uzbek number is callable", () => {
  assert.equal(uzbekE164("+998 90 111 22 33"), "+998901112233");
  assert.equal(uzbekE164("90 111 22 33"), "+998901112233");
  assert.equal(uzbekE164("+998 90 111 22"), null);
  assert.equal(uzbekE164("+1 415 555 0100"), null);
});

test("the page starts in the stored language, else the browser's, else Uzbek", () => {
  assert.equal(initialLanguage("ru", ["en-US"]), "ru");
  assert.equal(initialLanguage(null, ["de-DE", "ru-RU", "en"]), "ru");
  assert.equal(initialLanguage("xx", ["de-DE"]), "uz");
});

test("every text exists in Uzbek, Russian and English", () => {
  const keys = Object.keys(messages.en).sort();
  for (const lang of ["uz", "ru"]) {
    assert.deepEqual(Object.keys(messages[lang]).sort(), keys, lang);
  }
  for (const [lang, texts] of Object.entries(messages)) {
    for (const [key, text] of Object.entries(texts)) assert.match(text, /\S/, `${lang}.${key}`);
  }
  // Uzbek Latin uses the modifier letter turned comma (oʻ, gʻ), not an ASCII apostrophe.
  assert.equal(messages.uz.call, "Qoʻngʻiroq qilish");
});

/** A token shaped like a Voice Access Token (the fake Device reads grants.identity). */
function voiceToken(serial) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return {
    token: `${part({ alg: "HS256", typ: "JWT" })}.${part({ serial, grants: { identity: "agent_2D1" } })}.sig`,
    identity: "agent_2D1",
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  };
}

// Twilio's side of a placed call: /twilio/voice answered with a conference join.
const placed = [];
globalThis.fakeTwilioVoice = async ({ identity, params }) => {
  placed.push({ identity, params });
  return { status: 200, callSid: `CA${String(placed.length).padStart(32, "0")}`,
           twiml: `<Response><Dial><Conference>call-${placed.length}</Conference></Dial></Response>` };
};
const flush = () => new Promise((resolve) => setImmediate(resolve));

test("the Device is created on register(), not when the token tells Twilio mode", async (t) => {
  const devicesBefore = globalThis.fakeVoiceSdk.devices.length;
  const phone = new TwilioPhone({ createVoiceToken: async () => voiceToken(1) },
    { onRegistered() {}, onToken() {}, onIncoming() {}, onError(message) { throw new Error(message); } },
    { loadSdk: async () => fakeSdk });
  t.after(() => phone.destroy());  // Its refresh timer, also when an assertion fails.
  await phone.start();
  assert.equal(phone.created, false);
  assert.equal(globalThis.fakeVoiceSdk.devices.length, devicesBefore);
  await phone.register();
  assert.equal(phone.created, true);
  assert.equal(phone.registered, true);
  assert.equal(globalThis.fakeVoiceSdk.devices.length, devicesBefore + 1);
});

test("a token that comes during a call reaches the Device when the call ends", async (t) => {
  let fetched = 0;
  const applied = [];
  const phone = new TwilioPhone({ createVoiceToken: async () => voiceToken(++fetched) },
    { onRegistered() {}, onToken: (token) => applied.push(token.token), onIncoming() {},
      onError(message) { throw new Error(message); } },
    { loadSdk: async () => fakeSdk });
  t.after(() => phone.destroy());
  const first = await phone.start();
  const call = await phone.connect({ To: "+998901112233", Language: "uz" });
  const device = globalThis.fakeVoiceSdk.devices.at(-1);
  assert.equal(device.token, first.token, "the Device starts with the first token");
  await new Promise((resolve) => call.on("accept", resolve));
  assert.deepEqual(placed.at(-1), { identity: "agent_2D1", params: { To: "+998901112233", Language: "uz" } });
  assert.match(call.parameters.CallSid, /^CA/);
  assert.equal(phone.busy, true);

  // Due mid-call (the SDK's warning; the refresher's timer takes the same path): fetched, held.
  device.emit("tokenWillExpire", device);
  await waitFor("the second token", () => fetched === 2);
  await flush();
  assert.deepEqual(device.updatedTokens, []);
  call.disconnect();
  assert.equal(phone.busy, false);
  assert.equal(device.updatedTokens.length, 1);
  assert.equal(JSON.parse(Buffer.from(device.updatedTokens[0].split(".")[1], "base64url")).serial, 2);
  assert.equal(applied.at(-1), device.updatedTokens[0]);

  // Between calls a new token goes to the Device at once.
  device.emit("tokenWillExpire", device);
  await waitFor("the third token", () => device.updatedTokens.length === 2);

  // A Device whose token ran out during a long call registers again with the new one.
  const second = await phone.connect({ To: "+998901112233" });
  await new Promise((resolve) => second.on("accept", resolve));
  await device.unregister();
  device.emit("tokenWillExpire", device);
  await waitFor("the fourth token", () => fetched === 4);
  await flush();
  assert.equal(device.updatedTokens.length, 2);
  second.remoteDisconnect();
  assert.equal(device.updatedTokens.length, 3);
  await waitFor("the Device registered again", () => device.state === "registered");
});

test("a phone closed (signed out) while the SDK loads creates no Device", async () => {
  const devicesBefore = globalThis.fakeVoiceSdk.devices.length;
  let loading = false;
  let finishLoading;
  const phone = new TwilioPhone({ createVoiceToken: async () => voiceToken(1) },
    { onRegistered() {}, onToken() {}, onIncoming() {}, onError() {} },
    { loadSdk: () => {
      loading = true;
      return new Promise((resolve) => (finishLoading = () => resolve(fakeSdk)));
    } });
  const registering = phone.register();
  await waitFor("the SDK loading", () => loading);
  phone.destroy();
  finishLoading();
  await assert.rejects(registering, /closed/);
  assert.equal(globalThis.fakeVoiceSdk.devices.length, devicesBefore);
});

test("an incoming call's leg is asked for again until it is this agent's", async () => {
  const answers = [new LivecallApiError(403, "PERMISSION_DENIED", "call CA1 is not yours"),
                   new LivecallApiError(404, "NOT_FOUND", "no call"), { callSid: "CA2" }];
  const asked = [];
  const client = { getCall: async (sid) => {
    asked.push(sid);
    const answer = answers.shift();
    if (answer instanceof Error) throw answer;
    return answer;
  } };
  assert.deepEqual(await callOfLeg(client, "CA1", { delayMs: 1 }), { callSid: "CA2" });
  assert.deepEqual(asked, ["CA1", "CA1", "CA1"]);

  // Other errors at once; 403 only `attempts` times.
  const failing = (error) => ({ getCall: async () => {
    asked.push("again");
    throw error;
  } });
  asked.length = 0;
  await assert.rejects(callOfLeg(failing(new LivecallApiError(503, "UNAVAILABLE", "down")), "CA1",
    { delayMs: 1 }), /down/);
  assert.equal(asked.length, 1);
  asked.length = 0;
  await assert.rejects(callOfLeg(failing(new LivecallApiError(403, "PERMISSION_DENIED", "not yours")), "CA1",
    { attempts: 3, delayMs: 1 }), /not yours/);
  assert.equal(asked.length, 3);
});
