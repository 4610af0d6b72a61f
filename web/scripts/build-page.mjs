// Builds the page into dist/ (or the directory given as the first argument):
// index.html, app.js, transit.js (the transit worker), sw.js, style.css. Deterministic: no timestamps, no source
// maps, no absolute paths, so the committed dist/ can be checked by rebuilding.
// index.html gets the SHA-384 Subresource Integrity of app.js and style.css.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const outdir = process.argv[2] ?? "dist";

async function bundle(entry, format) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format,
    target: "es2022",
    minify: true,
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
  });
  return result.outputFiles[0].contents;
}

const sri = (bytes) => `sha384-${createHash("sha384").update(bytes).digest("base64")}`;

const app = await bundle("src/page/main.ts", "esm");
const transit = await bundle("src/transit/worker.ts", "iife");
const sw = await bundle("src/sw/sw.ts", "iife");
const style = readFileSync("static/style.css");
const html = readFileSync("static/index.html", "utf8")
  .replace("{{APP_SRI}}", sri(app))
  .replace("{{STYLE_SRI}}", sri(style));

mkdirSync(outdir, { recursive: true });
writeFileSync(join(outdir, "app.js"), app);
writeFileSync(join(outdir, "transit.js"), transit);
writeFileSync(join(outdir, "sw.js"), sw);
writeFileSync(join(outdir, "style.css"), style);
writeFileSync(join(outdir, "index.html"), html);
