// The servers a browser test needs, all on 127.0.0.1 with free ports.
//
// By default one `ferry serve` (FERRY_BIN): mailbox, TCP relay and WebSocket
// relay, and the page itself (the web/dist/ embedded in the binary) at
// http://127.0.0.1:MAILBOX/, with the CSP and /ferry-web.json ferry serve makes.
// FERRY_TEST_SERVERS=python: the Python mailbox server and transit relay (with
// its WebSocket listener) from the peers venv instead, and, since they serve no
// page, a Node static server for web/dist/ that answers /ferry-web.json and
// copies the CSP ferry serve sends.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { startFerryServe } from "./ferry-serve.mjs";
import { freePort, start, waitForPort } from "./procs.mjs";

const VENV =
  process.env.FERRY_PEERS_VENV ??
  join(process.env.FERRY_PEERS ?? join(homedir(), ".cache/ferry-peers"), "venv");
export const PYBIN = join(VENV, "bin");
const READY_MS = 60_000;

/** "ferry" (the default) or "python". */
export const SERVERS = process.env.FERRY_TEST_SERVERS || "ferry";
if (!["ferry", "python"].includes(SERVERS)) throw new Error(`FERRY_TEST_SERVERS=${SERVERS}: expected ferry or python`);

/**
 * Starts the servers; returns {config (what /ferry-web.json says), origin (where
 * the page is), pageFrom ("ferry serve" or "node"), mailboxProc, close}.
 */
export async function startServers(workdir, ferryBin) {
  if (SERVERS === "ferry") {
    const srv = await startFerryServe(ferryBin);
    // `mailboxProc`: a test may kill it to see the page report the server gone.
    return { config: srv.config, origin: srv.origin, pageFrom: "ferry serve", mailboxProc: srv.proc, close: async () => {} };
  }
  const [mailbox, relay, relayWs] = await Promise.all([freePort(), freePort(), freePort()]);
  const config = {
    mailbox: `ws://127.0.0.1:${mailbox}/v1`,
    relay_ws: `ws://127.0.0.1:${relayWs}/`,
    relay_tcp: `tcp:127.0.0.1:${relay}`,
    appid: "lothar.com/wormhole/text-or-file-xfer",
  };
  const procs = await startPython(workdir, mailbox, relay, relayWs);
  const web = await freePort();
  const http = await staticServer(web, config);
  return { config, origin: `http://127.0.0.1:${web}`, pageFrom: "node", mailboxProc: procs.mailbox, close: () => new Promise((r) => http.close(r)) };
}

async function startPython(workdir, mailbox, relay, relayWs) {
  const twistd = join(PYBIN, "twistd");
  const mb = start(twistd, ["-n", "--pidfile=", "wormhole-mailbox", "--port", `tcp:${mailbox}:interface=127.0.0.1`, `--channel-db=${workdir}/mailbox.sqlite`], { cwd: workdir });
  const tr = start(twistd, ["-n", "--pidfile=", "transitrelay", "--port", `tcp:${relay}:interface=127.0.0.1`, "--websocket", `tcp:${relayWs}:interface=127.0.0.1`, "--websocket-url", `ws://127.0.0.1:${relayWs}/`], { cwd: workdir });
  await Promise.all([waitForPort(mailbox, READY_MS, mb, "mailbox server"), waitForPort(relay, READY_MS, tr, "transit relay"), waitForPort(relayWs, READY_MS, tr, "transit relay (websocket)")]);
  return { mailbox: mb };
}


const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css" };
const FILES = { "/": "index.html", "/app.js": "app.js", "/transit.js": "transit.js", "/sw.js": "sw.js", "/style.css": "style.css" };

/** The CSP ferry serve sends (crates/ferry-server/src/web.rs); the test against ferry serve pins it. */
function csp(config) {
  const ws = [config.mailbox.replace(/\/v1$/, ""), config.relay_ws.replace(/\/$/, "")].join(" ");
  return `default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${ws}; worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

function staticServer(port, config) {
  const dist = new URL("../../dist/", import.meta.url).pathname;
  const srv = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    res.setHeader("Content-Security-Policy", csp(config));
    res.setHeader("X-Content-Type-Options", "nosniff");
    if (path === "/ferry-web.json") return res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(config));
    const file = FILES[path];
    if (file === undefined) return res.writeHead(404).end();
    const body = readFileSync(join(dist, file));
    res.writeHead(200, { "Content-Type": TYPES[file.slice(file.lastIndexOf("."))], "Cache-Control": "no-store" }).end(body);
  });
  return new Promise((resolve) => srv.listen(port, "127.0.0.1", () => resolve(srv)));
}
