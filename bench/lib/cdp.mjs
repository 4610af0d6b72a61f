// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe.
// The browser benchmark drives Chromium with this instead of Playwright:
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
