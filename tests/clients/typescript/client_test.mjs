// The typed client (clients/typescript, compiled into $LIVECALL_CLIENT_DIST) against the real
// suite: a private Redis and the four binaries in sandbox mode (livecall-test-suite).
//   LIVECALL_TEST_SUITE   livecall-test-suite     LIVECALL_GATEWAY_BIN   livecall-gateway
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { startSuite, waitFor } from "../../support/suite.mjs";

const required = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (ctest sets it; see tests/clients/typescript/CMakeLists.txt)`);
  return value;
};
const livecall = await import(pathToFileURL(`${required("LIVECALL_CLIENT_DIST")}/index.js`).href);
const { createLivecallClient, configureLivecall, startAICall, configureTTS, LivecallApiError,
        VoiceTokenRefresher, result, routes } = livecall;

let suite;
let client;
let token;

before(async () => {
  suite = await startSuite(required("LIVECALL_TEST_SUITE"), {
    LIVECALL_SANDBOX_RING_MS: "100",
    LIVECALL_SANDBOX_ANSWER_MS: "100",
    LIVECALL_SANDBOX_TALK_MS: "300",
    LIVECALL_SANDBOX_LINE_MS: "200",
    LIVECALL_DEV_LOGIN: "on",
  });
  // Every route but the public ones needs an agent's bearer token: sign in as the console does.
  const login = await createLivecallClient({ baseUrl: suite.baseUrl }).devLogin({ agentId: "ts-client" });
  token = login.token;
  client = createLivecallClient({ baseUrl: suite.baseUrl, token });
});
after(async () => {
  await suite?.stop();
});

/** Collects a stream's events until `done(events)` is true. */
async function collect(stream, done, timeoutMs = 10_000) {
  const events = [];
  const timer = setTimeout(() => stream.close(), timeoutMs);
  for await (const event of stream) {
    events.push(event);
    if (done(events)) break;
  }
  clearTimeout(timer);
  stream.close();
  return events;
}

describe("generated from the gateway's document", () => {
  test("the served /openapi.json is what --print-openapi prints", async () => {
    const printed = JSON.parse(execFileSync(required("LIVECALL_GATEWAY_BIN"), ["--print-openapi"],
                                            { encoding: "utf8" }));
    const served = await client.openApi();
    assert.deepEqual(served, printed);
  });

  test("every client function's route is one the gateway serves", async () => {
    const document = await client.openApi();
    for (const [name, route] of Object.entries(routes)) {
      assert.ok(document.paths[route.path]?.[route.method.toLowerCase()], `${name}: ${route.method} ${route.path}`);
    }
    assert.equal(routes.startSession.path, "/ai/call/start");
    assert.equal(routes.placeCall.path, "/api/voip/call");
  });
});

describe("the seed page's functions", () => {
  test("startAICall loads the customer's context, greeting and suggestions", async () => {
    configureLivecall({ baseUrl: suite.baseUrl, token });
    const session = await startAICall({ phoneNumber: "+998901112233" });
    assert.match(session.sessionId, /\S/);
    assert.equal(session.customer.name, "Dilshod Karimov");
    assert.equal(session.language, "uz");
    assert.match(session.greeting, /\S/);
    assert.ok(session.suggestions.length > 0);
  });

  test("configureTTS places a sandbox call whose status events arrive in order", async () => {
    configureLivecall({ baseUrl: suite.baseUrl, token });
    const call = await configureTTS({ to: "90 111 22 33", text: "Salom" });
    assert.match(call.callSid, /^CA[0-9a-f]{32}$/);
    assert.equal(call.to, "+998901112233");
    const events = await collect(client.watchCall(call.callSid),
                                 (seen) => seen.some((e) => e.data.call?.status === "completed"));
    const statuses = events.filter((e) => e.data.type === "call.status").map((e) => e.data.call.status);
    assert.deepEqual(statuses, ["queued", "ringing", "in-progress", "completed"]);
    assert.ok(events.every((e) => /^\d+-\d+$/.test(e.id)), "every event has its stream id");
    const final = await client.getCall(call.callSid);
    assert.equal(final.status, "completed");
  });
});

describe("errors are typed values", () => {
  test("without a token a route is UNAUTHENTICATED with status 401; the dev login answers its shape", async () => {
    const anonymous = createLivecallClient({ baseUrl: suite.baseUrl });
    const answer = await result(anonymous.getCall(`CA${"0".repeat(32)}`));
    assert.equal(answer.ok, false);
    assert.equal(answer.error.status, 401);
    assert.equal(answer.error.code, "UNAUTHENTICATED");
    const login = await anonymous.devLogin({ agentId: "agent-1", role: "supervisor" });
    assert.deepEqual(Object.keys(login).sort(), ["agentId", "expiresAt", "role", "token"]);
    assert.equal(login.role, "supervisor");
    assert.ok(Date.parse(login.expiresAt) > Date.now());
  });

  test("an invalid phone number is INVALID_ARGUMENT with status 400", async () => {
    await assert.rejects(client.configureTTS({ to: "12", text: "x" }), (error) => {
      assert.ok(error instanceof LivecallApiError);
      assert.equal(error.status, 400);
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.match(error.message, /\S/);
      assert.deepEqual(error.body, { error: { code: "INVALID_ARGUMENT", message: error.message } });
      return true;
    });
  });

  test("an unknown call is NOT_FOUND, as a Result value", async () => {
    const answer = await result(client.getCall(`CA${"0".repeat(32)}`));
    assert.equal(answer.ok, false);
    assert.equal(answer.error.status, 404);
    assert.equal(answer.error.code, "NOT_FOUND");
  });

  test("hold on a finished call is refused with 409", async () => {
    const call = await client.configureTTS({ to: "+998935550101", text: "Привет" });
    await waitFor("the call to complete", async () => (await client.getCall(call.callSid)).status === "completed");
    const answer = await result(client.holdCall(call.callSid));
    assert.equal(answer.ok, false);
    assert.equal(answer.error.status, 409);
  });

  test("an unreachable gateway is UNAVAILABLE with status 0", async () => {
    const nowhere = createLivecallClient({ baseUrl: "http://127.0.0.1:1" });
    const answer = await result(nowhere.healthz());
    assert.equal(answer.ok, false);
    assert.equal(answer.error.status, 0);
    assert.equal(answer.error.code, "UNAVAILABLE");
  });

  test("a voice token without Twilio is refused, never a fake token", async () => {
    // Signed in, so the agent is known; the sandbox has no Twilio to mint for: FAILED_PRECONDITION.
    const answer = await result(client.createVoiceToken({}));
    assert.equal(answer.ok, false);
    assert.equal(answer.error.status, 409);
    assert.equal(answer.error.code, "FAILED_PRECONDITION");
    const anonymous = await result(createLivecallClient({ baseUrl: suite.baseUrl }).createVoiceToken({}));
    assert.equal(anonymous.error.status, 401);
  });
});

describe("call control and live events", () => {
  test("a session's transcript and suggestions arrive as typed events and resume by id", async () => {
    const session = await client.startAICall({ phoneNumber: "+998977770707" });
    const turn = await client.addTurn(session.sessionId, { speaker: "customer", text: "my internet is not working" });
    assert.equal(turn.turn.speaker, "customer");
    assert.ok(turn.suggestions.length > 0);
    const stream = client.watchSessionEvents(session.sessionId);
    const events = await collect(stream, (seen) => seen.some((e) => e.data.type === "suggestions"));
    const types = events.map((e) => e.data.type);
    assert.ok(types.includes("session.started"), types.join());
    const transcript = events.find((e) => e.data.type === "transcript");
    assert.equal(transcript.data.turn.text, "my internet is not working");

    // Resuming after the transcript event skips it and everything before it.
    const resumed = client.watchSessionEvents(session.sessionId, { lastEventId: transcript.id });
    const later = await collect(resumed, (seen) => seen.length >= 1);
    assert.ok(later.every((e) => e.id > transcript.id && e.data.type !== "transcript"));

    const ended = await client.endSession(session.sessionId, { disposition: "resolved" });
    assert.match(ended.summary.text, /\S/);
  });

  test("a refused stream ends the iteration with the typed error", async () => {
    const stream = client.watchSessionEvents("no such session!");
    await assert.rejects(collect(stream, () => false), (error) => error instanceof LivecallApiError && error.status >= 400);
  });
});

describe("a sandbox agent call, followed through watchCall", () => {
  test("status, session, the scripted customer's lines, suggestions, hold, hang-up, summary", async () => {
    const call = await client.configureTTS({ to: "+998935550101", mode: "agent" });
    assert.equal(call.mode, "agent");
    const stream = client.watchCall(call.callSid);
    const seen = [];
    let held = false;
    for await (const { data: event } of stream) {
      seen.push(event);
      if (!held && event.type === "transcript" && event.turn.speaker === "customer") {
        held = true;
        const onHold = await client.holdCall(call.callSid);
        assert.equal(onHold.onHold, true);
        assert.equal((await client.resumeCall(call.callSid)).onHold, false);
        assert.equal((await client.sendDigits(call.callSid, { digits: "1#" })).digitsSent, "1#");
        await client.hangupCall(call.callSid);
      }
      if (event.type === "summary") break;
    }
    stream.close();
    const types = new Set(seen.map((event) => event.type));
    for (const type of ["call.status", "session.started", "transcript", "summary"]) {
      assert.ok(types.has(type), `${type} in ${[...types]}`);
    }
    const started = seen.find((event) => event.type === "session.started");
    assert.equal(started.session.customer.name, "Анна Петрова");
    assert.match(started.session.greeting, /\S/);
    const statuses = seen.filter((event) => event.type === "call.status").map((event) => event.call.status);
    assert.equal(statuses.at(-1), "completed");
    assert.match(seen.at(-1).summary.text, /\S/);
  });
});

describe("VoiceTokenRefresher", () => {
  test("refreshes before expiry and hands each new token over", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    let issued = 0;
    const tokens = [];
    const refresher = new VoiceTokenRefresher({
      createVoiceToken: async () => ({
        token: `t${++issued}`,
        identity: "agent_1",
        expiresAt: new Date(now + 600_000).toISOString(),
      }),
      onToken: (token) => tokens.push(token.token),
      refreshBeforeSeconds: 60,
      now: () => now,
    });
    const first = await refresher.start();
    assert.equal(first.token, "t1");
    assert.equal(refresher.delayBeforeRefreshMs(first), 540_000);
    now += 590_000;
    assert.equal(refresher.delayBeforeRefreshMs(first), 1000, "never sooner than a second");
    await refresher.refreshNow();
    refresher.stop();
    assert.deepEqual(tokens, ["t1", "t2"]);
  });
});
