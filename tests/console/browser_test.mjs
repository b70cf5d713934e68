// The console in Debian's Chromium (headless, playwright-core, no browser download) against the
// real suite in sandbox mode, served by the gateway from the console's build: an agent signs in
// with the dev login, calls a known customer, sees the greeting and the customer's context, sees the
// simulated customer speak and the suggestions follow, holds and resumes, presses a key, hangs up
// and reads the summary. A screenshot of every step goes to $LIVECALL_ARTIFACTS_DIR/sandbox.
//   LIVECALL_TEST_SUITE, LIVECALL_CONSOLE_DIR, LIVECALL_CHROMIUM, LIVECALL_ARTIFACTS_DIR (ctest)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startSuite } from "../support/suite.mjs";
import { artifactsDir, env, launchBrowser, openPage } from "./browser_support.mjs";

const artifacts = artifactsDir("sandbox");
const suite = await startSuite(env("LIVECALL_TEST_SUITE"), {
  LIVECALL_CONSOLE_DIR: env("LIVECALL_CONSOLE_DIR"),
  LIVECALL_DEV_LOGIN: "on",
  LIVECALL_JWT_SECRET: randomBytes(32).toString("hex"),
  LIVECALL_SANDBOX_RING_MS: "300",
  LIVECALL_SANDBOX_ANSWER_MS: "300",
  // The scripted customer's lines, one every 1.5 s; the call lasts until the agent hangs up.
  LIVECALL_SANDBOX_LINE_MS: "1500",
});
const browser = await launchBrowser();
let page;
let shot;
let byTest;
let pageErrors = [];
// The sandbox page never loads the Voice SDK.
const sdkRequests = [];

let failed = false;
try {
  // The gateway's side of serving the console, over plain HTTP first.
  const index = await fetch(`${suite.baseUrl}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const etag = index.headers.get("etag");
  assert.ok(etag);
  const asset = (await index.text()).match(/\/assets\/[^"]+\.js/)?.[0];
  assert.ok(asset, "index.html names its script under /assets/");
  const script = await fetch(`${suite.baseUrl}${asset}`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get("content-type"), /^text\/javascript/);
  assert.match(script.headers.get("cache-control"), /immutable/);
  assert.equal((await fetch(`${suite.baseUrl}/`, { headers: { "If-None-Match": etag } })).status, 304);
  const head = await fetch(`${suite.baseUrl}/index.html`, { method: "HEAD" });
  assert.equal(head.status, 200);
  for (const path of ["/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fCMakeCache.txt", "/nope.js"]) {
    const missing = await fetch(`${suite.baseUrl}${path}`);
    assert.equal(missing.status, 404, path);
    assert.equal((await missing.json()).error.code, "NOT_FOUND");
  }
  assert.equal((await fetch(`${suite.baseUrl}/`, { method: "POST" })).status, 404);

  ({ page, pageErrors, shot, byTest } = await openPage(browser, artifacts));
  page.on("request", (request) => {
    if (/twilio-voice-sdk/.test(request.url())) sdkRequests.push(request.url());
  });

  // The gateway serves the console at "/" with its assets.
  const response = await page.goto(`${suite.baseUrl}/`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-type"], /^text\/html/);
  await page.locator("#sign-in").waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "uz");
  await shot("sign-in");

  // Sign in with the dev login, as a new user of `tools/dev run` does.
  await page.locator("#agent-id").fill("agent-1");
  await page.locator("#sign-in-button").click();
  await page.locator("#live").waitFor();
  assert.match(await page.locator("#agent").textContent(), /agent-1/);
  await page.waitForFunction(() => document.querySelector("#mode-badge")?.classList.contains("sandbox"));
  assert.equal(await byTest("mode").textContent(), "Sinov rejimi");
  await shot("signed-in-sandbox");

  // The three languages.
  await byTest("language").selectOption("ru");
  assert.equal(await byTest("call").textContent(), "Позвонить");
  await byTest("language").selectOption("en");
  assert.equal(await byTest("call").textContent(), "Call");
  await byTest("language").selectOption("uz");
  assert.equal(await byTest("call").textContent(), "Qoʻngʻiroq qilish");

  // The number is formatted as it is typed; then Call.
  await byTest("phone").fill("");
  await byTest("phone").pressSequentially("901112233");
  assert.equal(await byTest("phone").inputValue(), "+998 90 111 22 33");
  await byTest("call").click();
  await page.waitForFunction(() => document.querySelector('[data-test="call-status"]')?.dataset.status);
  await shot("calling");

  // The AI session: greeting and the customer's context.
  await page.waitForFunction(() => document.querySelector('[data-test="greeting"]')?.textContent?.trim());
  await byTest("customer").getByText("Dilshod Karimov").waitFor();
  await shot("greeting-and-context");

  // The simulated customer speaks; the transcript and the suggestions follow.
  await page.locator('[data-test="transcript"] li.customer').first().waitFor();
  await page.waitForFunction(
    () => Number(document.querySelector('[data-test="suggestions"]')?.dataset.updates ?? 0) >= 1);
  assert.ok((await page.locator('[data-test="suggestions"] li').count()) > 0);
  await page.waitForFunction(
    () => Number(document.querySelector('[data-test="speaker-meter"]')?.dataset.peak ?? 0) > 0.05);
  assert.match(await byTest("speaker-note").textContent(), /\S/);
  await page.waitForFunction(
    () => Number(document.querySelector('[data-test="mic-meter"]')?.dataset.peak ?? 0) > 0.01);
  await shot("transcript-and-suggestions");

  // Hold and resume, once the call is in progress.
  await page.waitForFunction(
    () => document.querySelector('[data-test="call-status"]')?.dataset.status === "in-progress");
  await byTest("hold").click();
  await page.waitForFunction(() => document.querySelector('[data-test="hold"]')?.classList.contains("active"));
  await shot("on-hold");
  await byTest("hold").click();
  await page.waitForFunction(() => !document.querySelector('[data-test="hold"]')?.classList.contains("active"));

  // A key of the keypad: DTMF to the customer.
  await page.locator("#keypad-box summary").click();
  await page.locator('[data-test="keypad"] button[data-digit="5"]').click();
  await page.waitForFunction(() => document.querySelector('[data-test="digits-sent"]')?.textContent === "5");
  await shot("resumed-and-dtmf");
  assert.match(await byTest("timer").textContent(), /^\d\d:\d\d$/);

  // Hang up; the summary arrives.
  await byTest("hangup").click();
  await page.waitForFunction(
    () => document.querySelector('[data-test="call-status"]')?.dataset.status === "completed");
  await page.waitForFunction(() => document.querySelector('[data-test="summary"]')?.textContent?.trim());
  await shot("summary");

  // Settings: the sandbox explained, the microphone choice.
  await page.locator("#tab-settings").click();
  await byTest("mode-explain").waitFor();
  assert.match(await byTest("mode-explain").textContent(), /Sinov rejimi/);
  await byTest("microphone").locator("option").first().waitFor({ state: "attached" });
  await shot("settings");

  assert.deepEqual(sdkRequests, [], "the sandbox does not load the Voice SDK");
  assert.deepEqual(pageErrors, [], "no uncaught errors in the page");
  console.log(`console.browser: passed; screenshots in ${artifacts}`);
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
