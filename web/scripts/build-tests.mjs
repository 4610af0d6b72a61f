// Bundles each test/*.test.ts into .test-build/*.test.mjs for `node --test`.
// esbuild only strips types; `npm run typecheck` is what checks them.
import { readdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

const outdir = ".test-build";
const entryPoints = readdirSync("test")
  .filter((name) => name.endsWith(".test.ts"))
  .map((name) => `test/${name}`);

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints,
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});
