import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { build } from "esbuild";
import { repoRoot } from "./kat.ts";

// The core must bundle for a browser on its own: no Node built-ins, no DOM-only
// globals the page would have to fake. A Node import makes this build fail.
test("the core bundles for the browser with nothing from Node", async () => {
  const result = await build({
    entryPoints: [join(repoRoot(), "web", "src", "wormhole", "index.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.some((i) => i.includes("@noble/curves")), "noble is bundled in");
  assert.deepEqual(inputs.filter((i) => i.startsWith("node:")), []);
  assert.equal(result.outputFiles.length, 1);
});
