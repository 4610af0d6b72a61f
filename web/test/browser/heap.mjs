// A 2 GiB transfer into the page, with the page's heap measured throughout:
// memory must stay flat (bounded by what the page and the browser's GC hold
// at once), never grow with the bytes moved. Chromium is driven over a bare
// DevTools pipe (cdp.mjs): Playwright would copy every WebSocket frame to the
// driver and turn a 2 GiB test into a slow one.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withMeasuredBrowser } from "./cdp.mjs";
import { startFerryServe } from "./ferry-serve.mjs";
import { finish, killAll, start } from "./procs.mjs";

const FERRY = process.env.FERRY_BIN ?? "/work/main/target/ci/ferry";
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
/** 2 GiB; FERRY_HEAP_TEST_GIB=4 for the 4 GiB (needs twice that in temp space). */
const SIZE = Number(process.env.FERRY_HEAP_TEST_GIB ?? 2) * 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const TRANSFER_MS = 600_000;
/** The page holds a few MiB-sized buffers and what V8 has not collected yet, never the file. */
const PEAK_LIMIT = 128 * MiB;
/** Flat: the second half's peak is at most the first half's plus this (V8 frees spent buffers in bursts, at GC). */
const GROWTH_LIMIT = 64 * MiB;

let work;
let serve;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "ferry-heap-"));
  serve = await startFerryServe(FERRY);
});

after(() => {
  serve?.close();
  killAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `size` bytes: one random 16 MiB block over and over (cheap to write, and a lost or zeroed chunk shows). */
function patternFile(path, size) {
  const block = randomBytes(16 * MiB);
  const fd = openSync(path, "w");
  for (let left = size; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(left, block.length));
  closeSync(fd);
}

async function sha256File(path) {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(chunk);
  return h.digest("hex");
}

test(`a ${SIZE / 2 ** 30} GiB transfer from ferry send into the page keeps the page's heap flat`, { timeout: TRANSFER_MS + 60_000 }, async (t) => {
  const src = join(work, "two-gib.bin");
  patternFile(src, SIZE);
  const downloads = mkdtempSync(join(work, "downloads-"));
  try {
    const code = "9-guitarist-revenge";
    const { r, dl, heap } = await withMeasuredBrowser(CHROMIUM, mkdtempSync(join(work, "profile-")), downloads, async (browser, heap) => {
      const sender = start(FERRY, ["send", ...serve.net, "--code", code, "--hide-progress", src], { cwd: work, env: { ...process.env, HOME: work } });
      const saved = browser.waitFor((m, p) => m === "Browser.downloadProgress" && p.state !== "inProgress", TRANSFER_MS, "the download");
      await browser.send("Target.createTarget", { url: `${serve.origin}/#${code}` });
      const [r, dl] = await Promise.all([finish(sender, TRANSFER_MS, "ferry send (big file)"), saved]);
      return { r, dl, heap };
    });
    assert.equal(r.code, 0, `ferry send exited ${r.code} (its exit 0 means the page's SHA-256 ack matched):\n${r.stdout}${r.stderr}`);
    assert.equal(dl.state, "completed");
    assert.equal(dl.receivedBytes, SIZE);
    const [file] = readdirSync(downloads);
    assert.equal(await sha256File(join(downloads, file)), await sha256File(src), "the saved file has the bytes sent");

    const samples = heap.samples.filter(([, b]) => b > 0);
    assert.ok(samples.length >= 20, `only ${samples.length} heap samples`);
    const half = samples[Math.floor(samples.length / 2)][0];
    const peakOf = (xs) => Math.max(...xs.map(([, b]) => b));
    const first = peakOf(samples.filter(([ms]) => ms <= half));
    const second = peakOf(samples.filter(([ms]) => ms > half));
    const mib = (b) => (b / MiB).toFixed(1);
    const by = Object.entries(heap.byType).map(([k, b]) => `${k} ${mib(b)}`).join(", ");
    t.diagnostic(`peak heap ${mib(heap.peak)} MiB (${by}); first half ${mib(first)}, second half ${mib(second)} MiB; ${samples.length} samples`);
    assert.ok(heap.peak < PEAK_LIMIT, `peak heap ${mib(heap.peak)} MiB`);
    assert.ok(second <= first + GROWTH_LIMIT, `heap grew: ${mib(first)} MiB in the first half, ${mib(second)} MiB in the second`);
  } finally {
    rmSync(downloads, { recursive: true, force: true });
    rmSync(src, { force: true });
  }
});
