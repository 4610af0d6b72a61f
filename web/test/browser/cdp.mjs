// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe, and
// the page's heap and CPU as measured through it. The browser benchmark
// (bench/lib/browser_bench.mjs) and the heap test drive Chromium with this instead of Playwright:
// Playwright enables the Network domain, which copies every WebSocket frame
// (base64) to the driver and would be measured along with the page.
import { spawn } from "node:child_process";

export class Browser {
  #proc;
  #out;
  #next = 1;
  #pending = new Map();
  #listeners = [];
  #buf = "";

  /** Starts headless `chromium` with a private profile. */
  constructor(chromium, userDataDir) {
    const args = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--remote-debugging-pipe", `--user-data-dir=${userDataDir}`, "about:blank"];
    this.#proc = spawn(chromium, args, { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
    this.#out = this.#proc.stdio[3];
    this.#proc.stdio[4].on("data", (d) => this.#onData(d));
    // A browser killed at the end resets its pipes: not an error of the run.
    for (const pipe of [this.#proc.stdio[3], this.#proc.stdio[4]]) pipe.on("error", () => {});
  }

  get pid() {
    return this.#proc.pid;
  }

  /** Sends a command (to a session when `sessionId` is set); resolves with its result. */
  send(method, params = {}, sessionId = undefined) {
    const id = this.#next++;
    const msg = { id, method, params, ...(sessionId ? { sessionId } : {}) };
    this.#out.write(JSON.stringify(msg) + "\0");
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject, method }));
  }

  /** Calls `f(method, params, sessionId)` for every event. */
  on(f) {
    this.#listeners.push(f);
  }

  /** The next event matching `pred`, or an error after `ms`. */
  waitFor(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.on((method, params, sessionId) => {
        if (pred(method, params, sessionId)) (clearTimeout(timer), resolve(params));
      });
    });
  }

  close() {
    this.#proc.kill("SIGKILL");
  }

  #onData(d) {
    this.#buf += d.toString("utf8");
    for (let i = this.#buf.indexOf("\0"); i >= 0; i = this.#buf.indexOf("\0")) {
      const msg = JSON.parse(this.#buf.slice(0, i));
      this.#buf = this.#buf.slice(i + 1);
      if (msg.id !== undefined) this.#settle(msg);
      else for (const f of this.#listeners) f(msg.method, msg.params, msg.sessionId);
    }
  }

  #settle(msg) {
    const p = this.#pending.get(msg.id);
    this.#pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p?.resolve(msg.result);
  }
}

/**
 * The page's heap, sampled every 200 ms: for each attached target (the page,
 * its dedicated workers, its service worker) V8's used heap plus its
 * ArrayBuffer backing stores (Runtime.getHeapUsage). `samples` keeps
 * [ms since start, total bytes] for flatness checks; `byType` the peak of
 * each kind of target.
 */
export class HeapWatch {
  sessions = new Map();
  peak = 0;
  byType = {};
  samples = [];
  #t0 = performance.now();
  #timer;

  constructor(browser) {
    browser.on((method, p) => {
      if (method === "Target.attachedToTarget") {
        // A service worker is attached once from the browser and again from its page: count it once.
        if ([...this.sessions.values()].some((s) => s.targetId === p.targetInfo.targetId)) return;
        this.sessions.set(p.sessionId, { type: p.targetInfo.type, targetId: p.targetInfo.targetId });
        if (p.targetInfo.type === "page") void browser.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, p.sessionId);
      } else if (method === "Target.detachedFromTarget") this.sessions.delete(p.sessionId);
    });
    this.#timer = setInterval(() => void this.#sample(browser), 200);
  }

  async #sample(browser) {
    const usage = (s) => browser.send("Runtime.getHeapUsage", {}, s).then((h) => h.usedSize + (h.backingStorageSize ?? 0), () => 0);
    const uses = await Promise.all([...this.sessions].map(async ([s, { type }]) => [type, await usage(s)]));
    const total = uses.reduce((a, [, b]) => a + b, 0);
    this.samples.push([performance.now() - this.#t0, total]);
    this.peak = Math.max(this.peak, total);
    for (const [type, b] of uses) this.byType[type] = Math.max(this.byType[type] ?? 0, b);
  }

  stop() {
    clearInterval(this.#timer);
  }

  pageSession() {
    for (const [s, { type }] of this.sessions) if (type === "page") return s;
    return null;
  }
}

/** CPU seconds used so far by all of chromium's processes. */
export async function chromiumCpu(browser) {
  const { processInfo } = await browser.send("SystemInfo.getProcessInfo");
  return processInfo.reduce((a, p) => a + p.cpuTime, 0);
}

/**
 * Runs `f(browser, heap)` with a headless chromium that saves downloads into
 * `downloads`, attached to every page and worker, its heap watched; then
 * ends both.
 */
export async function withMeasuredBrowser(chromium, profileDir, downloads, f) {
  const browser = new Browser(chromium, profileDir);
  try {
    await browser.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
    await browser.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads, eventsEnabled: true });
    const heap = new HeapWatch(browser);
    try {
      return await f(browser, heap);
    } finally {
      heap.stop();
    }
  } finally {
    browser.close();
  }
}
