// The page over https, from `ferry serve --tls-cert/--tls-key` with a certificate
// from a throwaway CA (tls.mjs), in Debian's chromium driven by playwright-core.
// Chromium trusts the server's key by its SPKI hash (no blanket ignoreHTTPSErrors),
// so the page is what a user of a TLS deployment gets: a secure context talking
// wss:// to its server. The CLI on the other side trusts the CA by --ca-file.
// Run: npm run test:browser (inside interop/run-in-netns.sh, like CI).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startFerryServe } from "./ferry-serve.mjs";
import { finish, killAll, start } from "./procs.mjs";
import { makeTestCertificates } from "./tls.mjs";

const FERRY = process.env.FERRY_BIN ?? "/work/main/target/ci/ferry";
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const STEP_MS = 60_000;

let work;
let certs;
/** The default TLS set-up: TLS mailbox port (page, /v1, /relay) and a plain TCP relay. */
let served;
/** TLS with no TCP relay: the CLI's transit, like the page's, can only go through wss://…/relay. */
let wssOnly;
let browser;
/** Every request and WebSocket the pages made, and the security errors on their consoles, for the last test. */
const requests = [];
const securityErrors = [];
const SECURITY_ERROR = /Content.Security.Policy|Mixed Content|certificate|ERR_CERT|SSL/i;
let nameplate = 200;

before(async () => {
  for (const bin of [FERRY, CHROMIUM]) if (!existsSync(bin)) throw new Error(`missing ${bin}`);
  work = mkdtempSync(join(tmpdir(), "ferry-https-"));
  certs = makeTestCertificates(mkdirIn(work, "certs"));
  [served, wssOnly] = await Promise.all([startFerryServe(FERRY, { tls: certs }), startFerryServe(FERRY, { tls: certs, tcpRelay: false })]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      // Certificate errors are ignored only for a chain holding this key (chromium honours it with
      // the --user-data-dir playwright passes): the test CA itself stays untrusted.
      `--ignore-certificate-errors-spki-list=${certs.spki}`,
    ],
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  served?.close();
  wssOnly?.close();
  killAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

function mkdirIn(dir, name) {
  const path = join(dir, name);
  mkdirSync(path);
  return path;
}

/** Chromium asks every page for /favicon.ico; ferry serve has none, and the page links none. */
const isFavicon404 = (m) => new URL(m.location().url || "about:blank").pathname === "/favicon.ico";

/** A page in a context of its own; `sockets`: the WebSocket URLs it opened, `errors`: its console errors. */
async function newPage() {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const sockets = [];
  const errors = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("websocket", (ws) => (sockets.push(ws.url()), requests.push(ws.url())));
  page.on("console", (m) => {
    if (m.type() !== "error" || isFavicon404(m)) return;
    const error = `${m.text()} (${m.location().url})`;
    errors.push(error);
    if (SECURITY_ERROR.test(error)) securityErrors.push(error);
  });
  page.setDefaultTimeout(STEP_MS);
  return { page, sockets, errors, close: () => context.close() };
}

/** Opens `url` and keeps the download that starts as `work/savedAs`: {url (what the browser fetched), saved}. */
async function downloadFrom(page, url, savedAs) {
  const download = page.waitForEvent("download", { timeout: STEP_MS });
  await page.goto(url);
  const d = await download;
  const saved = join(work, savedAs);
  await d.saveAs(saved);
  return { url: d.url(), saved };
}

/** Waits for the page's flow to finish; a timeout says where the page stood. */
async function waitDone(page) {
  try {
    await page.locator("body[data-state=done]").waitFor();
  } catch (e) {
    const where = await page
      .evaluate(() => `state=${document.body.dataset.state} status=${document.querySelector("#status")?.textContent} error=${document.querySelector("#error")?.textContent}`)
      .catch(() => "(page gone)");
    throw new Error(`${e.message}\n  the page: ${where}`);
  }
}

/** The code the page shows once the server allocated it. */
async function shownCode(page) {
  await page.locator("#code-line").waitFor({ state: "visible" });
  return (await page.locator("#code").textContent())?.trim();
}

function ferry(args) {
  return start(FERRY, args, { cwd: work, env: { ...process.env, HOME: work, NO_COLOR: "1" } });
}

/** Exit 0 and the whole finished run, for its stderr. */
async function expectExit0(proc, what) {
  const r = await finish(proc, STEP_MS, what);
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r;
}

function randomFile(name, size) {
  const data = randomBytes(size);
  const path = join(work, name);
  writeFileSync(path, data);
  return { data, path };
}

/** `Content-Security-Policy` split into directive -> list of sources. */
function directives(csp) {
  return Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
}

test("chromium trusts only the test server's key: a server with another certificate is refused", async () => {
  // Proves the trust comes from the SPKI pin, not from errors being ignored across the board.
  const other = await startFerryServe(FERRY, { tls: makeTestCertificates(mkdirIn(work, "other-certs")) });
  const context = await browser.newContext(); // not recorded: its failed load is the point
  try {
    const page = await context.newPage();
    await assert.rejects(page.goto(`${other.origin}/`, { timeout: STEP_MS }), /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await context.close();
    other.close();
  }
});

test("the page over https is a secure context, is told wss:// addresses, and logs no CSP or mixed-content error", async () => {
  const { page, errors, close } = await newPage();
  const res = await page.goto(`${served.origin}/`);
  assert.equal(res?.status(), 200);
  const tls = await res.securityDetails();
  assert.equal(tls?.issuer, "ferry browser test CA", "served with the test CA's certificate");
  assert.equal(tls?.subjectName, "127.0.0.1");
  await page.locator("#file-input").waitFor({ state: "attached" });
  assert.equal(await page.evaluate(() => window.isSecureContext), true);
  assert.equal(await page.evaluate(() => location.origin), served.origin);

  const port = new URL(served.origin).port;
  const json = await page.evaluate(() => fetch("./ferry-web.json", { cache: "no-store" }).then((r) => r.json()));
  assert.equal(json.mailbox, `wss://127.0.0.1:${port}/v1`);
  assert.equal(json.relay_ws, `wss://127.0.0.1:${port}/relay`, "the WebSocket relay on the TLS port, not the plain listener");
  assert.deepEqual(json, served.config);
  // wss:// to this server is all the page may connect to besides itself: no ws:// to fall back on.
  const csp = (await res.allHeaders())["content-security-policy"] ?? "";
  assert.deepEqual(directives(csp)["connect-src"], ["'self'", `wss://127.0.0.1:${port}`]);

  // A service worker needs a certificate the browser trusts: with errors merely ignored
  // (playwright's ignoreHTTPSErrors) chromium refuses it, and offline use and streamed downloads go.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  assert.deepEqual(errors, [], "no CSP, mixed-content, certificate or other error on the console");
  await close();
});

test("the page over https sends a file through the TLS WebSocket relay to ferry receive --ca-file", async () => {
  const { data, path } = randomFile("https-from-page.bin", 2 * 1024 * 1024 + 7);
  const { page, sockets, errors, close } = await newPage();
  await page.goto(`${wssOnly.origin}/`);
  await page.setInputFiles("#file-input", path);
  const c = await shownCode(page);
  assert.equal(await page.locator("#link").getAttribute("href"), `${wssOnly.origin}/#${c}`, "the link is the https page");
  const out = mkdtempSync(join(work, "recv-https-"));
  const r = await expectExit0(ferry(["receive", ...wssOnly.net, "--force-relay", "-y", "-o", out, c]), "ferry receive (wss)");
  assert.ok(readFileSync(join(out, "https-from-page.bin")).equals(data), "received bytes equal the page's file");
  assert.ok(r.stderr.includes(`Connected (relay ${wssOnly.config.relay_ws})`), `ferry's side went through the TLS WebSocket relay:\n${r.stderr}`);
  await waitDone(page);
  assert.deepEqual(sockets, [wssOnly.config.mailbox, wssOnly.config.relay_ws], "the page's side too");
  assert.deepEqual(errors, []);
  await close();
});

test("the page over https receives a file from ferry send --ca-file through the TLS WebSocket relay", async () => {
  const { data, path } = randomFile("https-to-page.bin", 3 * 1024 * 1024 + 123);
  const c = `${(nameplate += 1)}-guitarist-revenge`;
  const sender = ferry(["send", ...wssOnly.net, "--force-relay", "--code", c, path]);
  const { page, sockets, errors, close } = await newPage();
  const { url, saved } = await downloadFrom(page, `${wssOnly.origin}/#${c}`, "https-downloaded.bin");
  assert.ok(readFileSync(saved).equals(data), "downloaded bytes equal the sent file");
  // Streamed to disk by the service worker, which only a secure context gets.
  assert.ok(url.startsWith(`${wssOnly.origin}/ferry-download/`), `saved through the service worker, not a Blob: ${url}`);
  const r = await expectExit0(sender, "ferry send (wss)");
  // "Connected (…)" names the transit ferry used (a bare "relay wss://…" is also in the sender's hint to the receiver).
  assert.ok(r.stderr.includes(`Connected (relay ${wssOnly.config.relay_ws})`), `ferry's side went through the TLS WebSocket relay:\n${r.stderr}`);
  await waitDone(page);
  assert.deepEqual(sockets, [wssOnly.config.mailbox, wssOnly.config.relay_ws], "the page's side too");
  assert.deepEqual(errors, []);
  await close();
});

test("with the TCP relay as well (the default set-up), the page over https receives from ferry send on it", async () => {
  // ferry takes the TCP relay the page names; the relay pairs it with the page's wss:// side.
  const { data, path } = randomFile("https-tcp-relay.bin", 1024 * 1024 + 5);
  const c = `${(nameplate += 1)}-guitarist-revenge`;
  const sender = ferry(["send", ...served.net, "--code", c, path]);
  const { page, sockets, errors, close } = await newPage();
  const { saved } = await downloadFrom(page, `${served.origin}/#${c}`, "https-tcp-relay.out");
  assert.ok(readFileSync(saved).equals(data), "downloaded bytes equal the sent file");
  const r = await expectExit0(sender, "ferry send (TCP relay)");
  const tcp = served.config.relay_tcp.replace(/^tcp:/, "");
  assert.ok(r.stderr.includes(`Connected (relay ${tcp})`), `ferry's side went through the TCP relay:\n${r.stderr}`);
  await waitDone(page);
  assert.deepEqual(sockets, [served.config.mailbox, served.config.relay_ws]);
  assert.deepEqual(errors, []);
  await close();
});

test("once loaded over https, the page opens offline and says the server is gone", async () => {
  const { page, errors, close } = await newPage();
  await page.goto(`${served.origin}/`);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.context().setOffline(true);
  const reloaded = await page.reload();
  assert.ok(reloaded?.fromServiceWorker(), "the page came from the service worker's cache");
  assert.equal(await page.evaluate(() => window.isSecureContext), true);
  const direct = await page.evaluate(() => fetch("/not-in-the-shell").then(() => "fetched", (e) => String(e)));
  assert.match(direct, /TypeError/, "the network really is off");
  await page.locator("#send").waitFor({ state: "visible" });
  await page.locator("#receive-form").waitFor({ state: "visible" });
  await page.fill("#code-input", `${(nameplate += 1)}-guitarist-revenge`);
  await page.click("#receive-form button[type=submit]");
  const err = page.locator("#error[data-kind=server-gone]");
  await err.waitFor({ state: "visible" });
  assert.match((await err.textContent()) ?? "", /ferry server/);
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), [], "only the failures going offline provoked");
  await close();
});

// Last: it checks what every page above did.
test("the https pages used only https:// and wss:// on their own server, and logged no security error", () => {
  assert.ok(requests.length > 0);
  const ours = [served, wssOnly].flatMap((s) => [`${s.origin}/`, `${s.origin.replace(/^https/, "wss")}/`]);
  const foreign = requests.filter((u) => !u.startsWith("data:") && !ours.some((o) => u.startsWith(o)));
  assert.deepEqual(foreign, [], "nothing over http://, ws://, or to another origin");
  assert.deepEqual(securityErrors, [], "no CSP, mixed-content or certificate error on any page's console");
});

