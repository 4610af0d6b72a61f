// Rebuilds the page into a temporary directory and fails if any of the
// files differs from the committed dist/ (run `npm run build` and commit).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";

const FILES = ["index.html", "app.js", "transit.js", "sw.js", "style.css"];
const tmp = mkdtempSync(join(tmpdir(), "ferry-dist-"));
try {
  execFileSync(process.execPath, ["scripts/build-page.mjs", tmp], { stdio: "inherit" });
  const stale = FILES.filter((f) => {
    try {
      return !readFileSync(join("dist", f)).equals(readFileSync(join(tmp, f)));
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    console.error(`web/dist is stale (${stale.join(", ")}): run \`npm run build\` in web/ and commit dist/`);
    process.exitCode = 1;
  } else console.log("web/dist matches the sources");
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
