// The suite for tests written in JavaScript: runs livecall-test-suite (suite_launcher.cc), which
// starts a private Redis and the four real binaries on free ports and prints the gateway's URL
// once /readyz answers 200. stop() closes its stdin; it then stops every process and exits 0 only
// if each exited cleanly. With the argument "--fake-twilio" the suite runs in Twilio mode against
// FakeTwilio (see suite_launcher.cc): `twilio` says how to play Twilio's side, `twilioRecord()`
// returns the REST requests FakeTwilio received and its violations of Twilio's API description.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * @param {string} launcher path of livecall-test-suite
 * @param {Record<string, string>} env extra environment for every process
 * @param {{fakeTwilio?: boolean}} options
 * @returns {Promise<{baseUrl: string, logDir: string, twilio?: {apiBaseUrl: string,
 *   accountSid: string, authToken: string, applicationSid: string, publicUrl: string},
 *   twilioRecord: () => Promise<{requests: Array<{operationId: string, method: string,
 *   path: string, pathParams: Record<string, string>, fields: Array<[string, string]>}>,
 *   violations: string[]}>, printLogs: () => void, stop: () => Promise<void>}>}
 */
export async function startSuite(launcher, env = {}, options = {}) {
  const args = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  if (options.fakeTwilio) args.unshift("--fake-twilio");
  const child = spawn(launcher, args, { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise((resolve) => lines.once("line", resolve)),
    exited.then(({ code }) => {
      throw new Error(`livecall-test-suite exited with ${code} before the suite was ready`);
    }),
  ]);
  const { baseUrl, logDir, twilio } = JSON.parse(first);
  return {
    baseUrl,
    logDir,
    twilio,
    /** FakeTwilio's record so far (only with fakeTwilio). */
    async twilioRecord() {
      const answer = new Promise((resolve) => lines.once("line", resolve));
      child.stdin.write("twilio\n");
      return JSON.parse(await answer);
    },
    /** Prints every process's last log lines to stderr (after a failure). */
    printLogs() {
      child.stdin.write("logs\n");
    },
    async stop() {
      child.stdin.end();
      const { code, signal } = await exited;
      if (code !== 0) throw new Error(`the suite did not stop cleanly (exit ${code ?? signal})`);
    },
  };
}

/** Polls `check` every 50 ms until it returns a truthy value (returned) or `timeoutMs` passes. */
export async function waitFor(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
