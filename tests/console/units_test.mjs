// The console's pure parts — phone formatting, the choice of language, the translations — in
// node, compiled from console/src with the esbuild that Vite brings (console/node_modules).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const consoleDir = join(dirname(fileURLToPath(import.meta.url)), "../../console");
const esbuild = createRequire(join(consoleDir, "package.json"))("esbuild");

async function load(file) {
  const { outputFiles } = await esbuild.build({
    entryPoints: [join(consoleDir, "src", file)],
    bundle: true, format: "esm", platform: "neutral", write: false,
  });
  return import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString("base64")}`);
}
const { formatPhone, uzbekE164 } = await load("phone.ts");
const { messages, initialLanguage } = await load("i18n.ts");

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
