import { defineConfig, type Plugin } from "vite";
import type { OutputBundle, OutputChunk } from "rollup";

/** <link rel="modulepreload"> for the Index page's chunks (the page code and the charts): the
 * browser fetches and compiles them while main.ts starts the page's API reads, instead of
 * after main.ts has run (Vite only preloads an entry's static imports by itself). */
function preloadIndexPage(): Plugin {
  return {
    name: "preload-index-page",
    transformIndexHtml: {
      order: "post",
      handler(_html, ctx) {
        const bundle: OutputBundle | undefined = ctx.bundle;
        if (!bundle) return []; // the dev server: nothing is bundled
        const chunks = Object.values(bundle).filter((c): c is OutputChunk => c.type === "chunk");
        const page = chunks.find((c) => c.facadeModuleId?.endsWith("/src/pages/index-page.ts"));
        if (!page) throw new Error("no chunk for src/pages/index-page.ts");
        const entry = new Set(chunks.filter((c) => c.isEntry).map((c) => c.fileName));
        const files = [page.fileName, ...page.imports.filter((f) => !entry.has(f))];
        return files.map((file) => ({
          tag: "link",
          attrs: { rel: "modulepreload", crossorigin: true, href: `/${file}` },
          injectTo: "head" as const,
        }));
      },
    },
  };
}

// Hashed file names under /assets/ (nginx caches them for a year); no inline scripts or
// styles, so the pages run under a strict Content-Security-Policy (default-src 'self').
export default defineConfig({
  base: "/",
  plugins: [preloadIndexPage()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
  },
});
