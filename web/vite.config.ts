import { defineConfig } from "vite";

// The console is built into dist/, which web/embed.go embeds in the vigil
// binary. Nothing is loaded from the internet: no CDN, no web fonts.
export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "static",
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 300,
  },
  server: {
    // `npm run dev` proxies the API to a running `vigil run` or to the fake
    // dev server of test/console (go run ./test/console/devserver).
    proxy: {
      "/api": { target: process.env.VIGIL_API ?? "http://127.0.0.1:9765", changeOrigin: false },
    },
  },
});
