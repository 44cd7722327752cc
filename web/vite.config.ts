import { defineConfig } from "vite";

// Hashed file names under /assets/ (nginx caches them for a year); no inline scripts or
// styles, so the pages run under a strict Content-Security-Policy (default-src 'self').
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
  },
});
