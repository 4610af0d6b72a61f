// The browser rows of bench/transfer (--browser): the page served by `ferry serve`
// in headless Debian chromium, against the ferry CLI through that server's relays.
//   ferry -> page   `ferry send FILE`; the page opened as /#CODE saves it as a download
//   page -> ferry   the file put into the page's file input; `ferry receive CODE`
// Per run: wall time from the first command to the CLI's exit (the CLI exits after the
// transit ack, so the whole file has crossed and been hashed), the page side's CPU
// (chromium's renderer, browser and utility processes, from SystemInfo.getProcessInfo),
// the CLI's CPU and peak RSS (/usr/bin/time), and the page's peak heap: every 200 ms the
// sum over the page, its workers and its service worker of V8's used heap plus
// ArrayBuffer backing stores (Runtime.getHeapUsage). Median of --runs runs per case.
// Chromium is driven over a bare DevTools pipe (cdp.mjs), never Playwright: Playwright's
// Network domain would copy every WebSocket frame to the driver and be measured too.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromiumCpu, withMeasuredBrowser } from "../../web/test/browser/cdp.mjs";
import { startFerryServe } from "../../web/test/browser/ferry-serve.mjs";

const { values: opt } = parseArgs({
  options: {
    ferry: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    work: { type: "string" },
    "recv-dir": { type: "string" },
    runs: { type: "string", default: "3" },
    sizes: { type: "string", default: "1G,16M" },
    json: { type: "string" },
  },
});
const RUNS = Number(opt.runs);
const STEP_MS = 600_000;
const MiB = 1024 * 1024;

function bytes(s) {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * { "": 1, K: 1024, M: MiB, G: 1024 * MiB }[m[2].toUpperCase()];
}

/** Runs `args` under /usr/bin/time; resolves with exit code, output and the CLI's CPU and RSS. */
function timed(args, env = {}) {
  const tfile = join(opt.work, `time-${process.hrtime.bigint()}`);
  const child = spawn("/usr/bin/time", ["-o", tfile, "-f", "%U %S %M", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`${args.join(" ")} did not finish:\n${out}`))), STEP_MS);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const [u, s, rss] = readFileSync(tfile, "utf8").trim().split("\n").pop().split(" ").map(Number);
      resolve({ code, out, cpu: u + s, rssMiB: rss / 1024 });
    });
  });
  return { child, done };
}

async function evaluate(browser, session, expr) {
  const r = await browser.send("Runtime.evaluate", { expression: expr, returnByValue: true }, session);
  return r.result.value;
}

async function until(f, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const withBrowser = (f) => withMeasuredBrowser(opt.chromium, mkdtempSync(join(opt.work, "profile-")), opt["recv-dir"], f);

let nameplate = 10;

async function cliToPage(serve, file, size) {
  return withBrowser(async (browser, heap) => {
    const code = `${++nameplate}-guitarist-revenge`;
    const cpu0 = await chromiumCpu(browser);
    const t0 = performance.now();
    const sender = timed([opt.ferry, "send", ...serve.net, "--code", code, "--hide-progress", file]);
    const saved = browser.waitFor((m, p) => m === "Browser.downloadProgress" && p.state !== "inProgress", STEP_MS, "the download");
    await browser.send("Target.createTarget", { url: `${serve.origin}/#${code}` });
    const [r, dl] = await Promise.all([sender.done, saved]);
    const wall = (performance.now() - t0) / 1000;
    if (r.code !== 0 || dl.state !== "completed" || dl.receivedBytes !== size) throw new Error(`ferry -> page failed: exit ${r.code}, download ${dl.state} ${dl.receivedBytes}\n${r.out}`);
    return { wall, pageCpu: (await chromiumCpu(browser)) - cpu0, cliCpu: r.cpu, cliRss: r.rssMiB, heap: heap.peak, heapByType: heap.byType };
  });
}

async function pageToCli(serve, file) {
  return withBrowser(async (browser, heap) => {
    await browser.send("Target.createTarget", { url: `${serve.origin}/` });
    const s = await until(() => heap.pageSession(), STEP_MS, "the page");
    await until(() => evaluate(browser, s, "document.readyState === 'complete' && !!document.querySelector('#file-input')"), STEP_MS, "the page to load");
    const { root } = await browser.send("DOM.getDocument", {}, s);
    const { nodeId } = await browser.send("DOM.querySelector", { nodeId: root.nodeId, selector: "#file-input" }, s);
    const cpu0 = await chromiumCpu(browser);
    const t0 = performance.now();
    await browser.send("DOM.setFileInputFiles", { files: [file], nodeId }, s);
    const code = await until(() => evaluate(browser, s, "document.querySelector('#code')?.textContent?.trim()"), STEP_MS, "the code");
    const out = mkdtempSync(join(opt["recv-dir"], "cli-"));
    const r = await timed([opt.ferry, "receive", ...serve.net, "-y", "-o", out, code]).done;
    const wall = (performance.now() - t0) / 1000;
    rmSync(out, { recursive: true, force: true });
    if (r.code !== 0) throw new Error(`page -> ferry failed: exit ${r.code}\n${r.out}`);
    return { wall, pageCpu: (await chromiumCpu(browser)) - cpu0, cliCpu: r.cpu, cliRss: r.rssMiB, heap: heap.peak, heapByType: heap.byType };
  });
}

function randomFile(size) {
  const path = join(opt.work, `browser-src-${size}`);
  const fd = openSync(path, "w");
  for (let left = size; left > 0; left -= 16 * MiB) writeSync(fd, randomBytes(Math.min(left, 16 * MiB)));
  closeSync(fd);
  return path;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  mkdirSync(opt["recv-dir"], { recursive: true });
  const serve = await startFerryServe(opt.ferry);
  const sizes = opt.sizes.split(",").map(bytes);
  const rows = [];
  try {
    for (const [name, run] of [["ferry -> page", cliToPage], ["page -> ferry", pageToCli]]) {
      for (const size of sizes) {
        const file = randomFile(size);
        const results = [];
        for (let i = 0; i < RUNS; i++) {
          results.push(await run(serve, file, size));
          rmSync(join(opt["recv-dir"], `browser-src-${size}`), { force: true });
          const r = results.at(-1);
          const by = Object.entries(r.heapByType).map(([t, b]) => `${t} ${(b / MiB).toFixed(1)}`).join(", ");
          process.stderr.write(`  ${name} ${size / MiB} MiB run ${i + 1}: ${r.wall.toFixed(2)} s, peak heap ${(r.heap / MiB).toFixed(1)} MiB (${by})\n`);
        }
        rmSync(file);
        const m = (k) => median(results.map((r) => r[k]));
        rows.push({ case: name, size, wall: m("wall"), pageCpu: m("pageCpu"), cliCpu: m("cliCpu"), cliRss: m("cliRss"), heap: Math.max(...results.map((r) => r.heap)) });
      }
    }
  } finally {
    serve.close();
  }
  report(rows, sizes);
}

function report(rows, sizes) {
  const mb = (size, s) => size / 1e6 / s;
  console.log(`## Browser page (ferry serve, headless chromium), median of ${RUNS} runs\n`);
  console.log("| case | size | wall s | MB/s | data-phase MB/s | page CPU s | CLI CPU s | CLI RSS MiB | page peak heap MiB |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const small = rows.find((x) => x.case === r.case && x.size === Math.min(...sizes));
    const phase = small && small.size < r.size ? mb(r.size - small.size, r.wall - small.wall).toFixed(1) : "";
    console.log(`| ${r.case} | ${r.size / MiB} MiB | ${r.wall.toFixed(2)} | ${mb(r.size, r.wall).toFixed(1)} | ${phase} | ${r.pageCpu.toFixed(2)} | ${r.cliCpu.toFixed(2)} | ${r.cliRss.toFixed(1)} | ${(r.heap / MiB).toFixed(1)} |`);
  }
  const big = rows.filter((r) => r.size === Math.max(...sizes));
  console.log(`\nTargets (issue 13): >= 100 MB/s and peak heap < 64 MiB: ${big.map((r) => `${r.case} ${mb(r.size, r.wall).toFixed(1)} MB/s (${(mb(r.size, r.wall) / 100).toFixed(2)}x), heap ${(r.heap / MiB).toFixed(1)} MiB`).join("; ")}`);
  if (opt.json) writeFileSync(opt.json, JSON.stringify(rows, null, 2));
}

await main();
