// Builds the console into LIVECALL_CONSOLE_OUT (tools/dev: build/console), which the gateway
// serves at "/" (LIVECALL_CONSOLE_DIR). The typed client is compiled in from its sources.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  base: "/",
  resolve: {
    alias: { "@livecall/client": here("../clients/typescript/src/index.ts") },
  },
  build: {
    outDir: process.env.LIVECALL_CONSOLE_OUT ?? here("../build/console"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    rollupOptions: {
      output: {
        // The Voice SDK's chunk by a stable name: the browser test serves a fake Device in its
        // place (Twilio cannot be reached from a test).
        chunkFileNames: (chunk) => chunk.facadeModuleId?.includes("/@twilio/voice-sdk/")
          ? "assets/twilio-voice-sdk-[hash].js" : "assets/[name]-[hash].js",
      },
    },
  },
  server: {
    // `npm run dev` next to a running gateway (tools/dev run): the API through Vite's proxy.
    proxy: Object.fromEntries(
      ["/api", "/ai", "/voip", "/healthz", "/readyz", "/openapi.json", "/tts"].map((path) => [
        path,
        { target: process.env.LIVECALL_GATEWAY_URL ?? "http://127.0.0.1:8080" },
      ]),
    ),
  },
});
