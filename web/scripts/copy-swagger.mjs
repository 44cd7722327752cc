// Copies Swagger UI's bundle and styles from the swagger-ui-dist package into the build, so
// /docs loads nothing from a CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const source = dirname(require.resolve("swagger-ui-dist/package.json"));
const target = join(import.meta.dirname, "..", "dist", "swagger");
mkdirSync(target, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  copyFileSync(join(source, file), join(target, file));
}
