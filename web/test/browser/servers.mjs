// The servers a browser test needs, all on 127.0.0.1 with free ports: the
// Python mailbox server and transit relay (with its WebSocket listener) from
// the peers venv, and a static server for web/dist/ that answers
// /ferry-web.json and sends the CSP that `ferry serve` will send.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { freePort, start, waitForPort } from "./procs.mjs";

const VENV =
  process.env.FERRY_PEERS_VENV ??
  join(process.env.FERRY_PEERS ?? join(homedir(), ".cache/ferry-peers"), "venv");
export const PYBIN = join(VENV, "bin");
const READY_MS = 60_000;

/** FERRY_TEST_SERVERS=ferry: `ferry serve` (FERRY_BIN) as mailbox and both relays instead of Python. */
export async function startServers(workdir, ferryBin) {
  const [mailbox, relay, relayWs, web] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const procs =
    process.env.FERRY_TEST_SERVERS === "ferry"
      ? await startFerryServe(ferryBin, workdir, mailbox, relay, relayWs)
      : await startPython(workdir, mailbox, relay, relayWs);
  const config = {
    mailbox: `ws://127.0.0.1:${mailbox}/v1`,
    relay_ws: `ws://127.0.0.1:${relayWs}/`,
    relay_tcp: `tcp:127.0.0.1:${relay}`,
    appid: "lothar.com/wormhole/text-or-file-xfer",
  };
  const http = await staticServer(web, config);
  // `mailboxProc`: a test may kill it to see the page report the server gone.
  return { config, origin: `http://127.0.0.1:${web}`, mailboxProc: procs.mailbox, close: () => new Promise((r) => http.close(r)) };
}

async function startPython(workdir, mailbox, relay, relayWs) {
  const twistd = join(PYBIN, "twistd");
  const mb = start(twistd, ["-n", "--pidfile=", "wormhole-mailbox", "--port", `tcp:${mailbox}:interface=127.0.0.1`, `--channel-db=${workdir}/mailbox.sqlite`], { cwd: workdir });
  const tr = start(twistd, ["-n", "--pidfile=", "transitrelay", "--port", `tcp:${relay}:interface=127.0.0.1`, "--websocket", `tcp:${relayWs}:interface=127.0.0.1`, "--websocket-url", `ws://127.0.0.1:${relayWs}/`], { cwd: workdir });
  await Promise.all([waitForPort(mailbox, READY_MS, mb, "mailbox server"), waitForPort(relay, READY_MS, tr, "transit relay"), waitForPort(relayWs, READY_MS, tr, "transit relay (websocket)")]);
  return { mailbox: mb };
}

async function startFerryServe(ferry, workdir, mailbox, relay, relayWs) {
  const at = (p) => `127.0.0.1:${p}`;
  const args = ["serve", "--mailbox-listen", at(mailbox), "--relay-listen", at(relay), "--relay-ws-listen", at(relayWs), "--database", `${workdir}/ferry.sqlite`];
  const srv = start(ferry, args, { cwd: workdir });
  await Promise.all([waitForPort(mailbox, READY_MS, srv, "ferry serve (mailbox)"), waitForPort(relay, READY_MS, srv, "ferry serve (relay)"), waitForPort(relayWs, READY_MS, srv, "ferry serve (websocket relay)")]);
  return { mailbox: srv };
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css" };
const FILES = { "/": "index.html", "/app.js": "app.js", "/transit.js": "transit.js", "/sw.js": "sw.js", "/style.css": "style.css" };

function csp(config) {
  const ws = [config.mailbox, config.relay_ws].filter(Boolean).join(" ");
  return `default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${ws}; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
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
