// What the console's browser tests share: their environment (set by ctest, see CMakeLists.txt),
// Debian's Chromium through playwright-core, and a page that saves a numbered screenshot per step.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (ctest sets it; see tests/console/CMakeLists.txt)`);
  return value;
};

// Generous: the machine running CI may be slow; every wait polls and ends as soon as it holds.
export const STEP_TIMEOUT_MS = 20_000;

/** An empty $LIVECALL_ARTIFACTS_DIR/<name> for this test's screenshots. */
export function artifactsDir(name) {
  const dir = join(env("LIVECALL_ARTIFACTS_DIR"), name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: env("LIVECALL_CHROMIUM"),
    args: [
      "--no-sandbox",  // CI runs as root.
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",  // A beeping microphone for the meter.
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

// Numbers the screenshots of every page of a test in one sequence.
let step = 0;

/**
 * A page in a new context with uncaught errors collected, `shot(name)` saving the next numbered
 * full-page screenshot in `dir`, and `byTest(id)` finding `[data-test=id]`.
 */
export async function openPage(browser, dir) {
  const context = await browser.newContext({ locale: "uz-UZ", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  return {
    page,
    pageErrors,
    async shot(name) {
      step += 1;
      await page.screenshot({ path: join(dir, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
    },
    byTest: (id) => page.locator(`[data-test="${id}"]`),
  };
}
