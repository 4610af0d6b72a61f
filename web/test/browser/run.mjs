// End-to-end tests of the page in Debian's chromium, driven by playwright-core
// (which never downloads a browser). Run: npm run test:browser.
// The page, served by `ferry serve` itself (FERRY_BIN; FERRY_TEST_SERVERS=python
// for the Python servers and a Node static server instead), receives from and
// sends to the ferry CLI, Python `wormhole` and `wormhole-william`, all on loopback.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { finish, freePort, killAll, start, waitForPort } from "./procs.mjs";
import { PYBIN, SERVERS, startServers } from "./servers.mjs";

const FERRY = process.env.FERRY_BIN ?? "/work/main/target/ci/ferry";
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const WILLIAM = process.env.WILLIAM_BIN ?? "/usr/bin/wormhole-william";
const STEP_MS = 60_000;

let servers;
let browser;
let work;
/** Every request and WebSocket any page made, for the no-other-origin check. */
const requests = [];
const cspViolations = [];
let nameplate = 100;
/** Origins of servers a test started for itself (also loopback, also ours). */
const ownOrigins = [];

before(async () => {
  for (const bin of [FERRY, CHROMIUM]) if (!existsSync(bin)) throw new Error(`missing ${bin}`);
  work = mkdtempSync(join(tmpdir(), "ferry-browser-"));
  servers = await startServers(work, FERRY);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await servers?.close();
  killAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function newPage() {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on("request", (r) => requests.push(r.url()));
  page.on("websocket", (ws) => requests.push(ws.url()));
  page.on("console", (m) => /Content.Security.Policy/i.test(m.text()) && cspViolations.push(m.text()));
  page.setDefaultTimeout(STEP_MS);
  return { page, close: () => context.close() };
}

/** Opens `url` in `page` and keeps the download that starts as `work/savedAs`: {name (the browser's), saved}. */
async function downloadFrom(page, url, savedAs) {
  const download = page.waitForEvent("download", { timeout: STEP_MS });
  await page.goto(url);
  const d = await download;
  const saved = join(work, savedAs);
  await d.saveAs(saved);
  return { name: d.suggestedFilename(), saved };
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

/** A fresh code on its own nameplate: `N-word-word`. */
function code(words = "guitarist-revenge") {
  nameplate += 1;
  return `${nameplate}-${words}`;
}

const net = () => ["--server", servers.config.mailbox, "--relay", servers.config.relay_tcp];

function ferry(args) {
  return start(FERRY, args, { cwd: work, env: { ...process.env, HOME: work, NO_COLOR: "1" } });
}

/** The code the page shows once the server allocated it. */
async function shownCode(page) {
  await page.locator("#code-line").waitFor({ state: "visible" });
  return (await page.locator("#code").textContent())?.trim();
}

function python(args) {
  const net = ["--relay-url", servers.config.mailbox, "--transit-helper", servers.config.relay_tcp];
  return start(join(PYBIN, "wormhole"), [...net, ...args], { cwd: work, env: { ...process.env, HOME: work } });
}

/** ferry's exit code for a wrong code (crates/ferry-cli/src/outcome.rs, the README's table). */
const WRONG_CODE_EXIT = 3;
/** 128 + SIGINT: ferry stopped by Ctrl-C. */
const INTERRUPTED_EXIT = 130;

async function expectExit0(proc, what) {
  const r = await finish(proc, STEP_MS, what);
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}${r.stderr}`);
}

// ---- the page as ferry serve serves it ----

const FERRY_SERVES = { skip: SERVERS !== "ferry" && "the page comes from the Node static server (FERRY_TEST_SERVERS=python)" };

/** `Content-Security-Policy` split into directive -> list of sources. */
function directives(csp) {
  return Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
}

test("ferry serve serves the page with its exact CSP, nosniff and /ferry-web.json", FERRY_SERVES, async () => {
  const { mailbox, relay_ws } = servers.config;
  const origin = (ws) => new URL(ws).origin.replace(/^http/, "ws"); // ws://127.0.0.1:PORT
  assert.equal(servers.origin, origin(mailbox).replace(/^ws/, "http"), "the page is on the mailbox port");
  const res = await fetch(`${servers.origin}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = res.headers.get("content-security-policy");
  assert.equal(
    csp,
    `default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${origin(mailbox)} ${origin(relay_ws)}; ` +
      "worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  const d = directives(csp);
  assert.deepEqual(d["connect-src"], ["'self'", origin(mailbox), origin(relay_ws)], "only this server's mailbox and WebSocket relay");
  // 'wasm-unsafe-eval' lets the page compile its WebAssembly SHA-256; it allows no JavaScript eval.
  assert.deepEqual(d["script-src"], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(d["default-src"], ["'none'"]);
  assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|\*/);
  const dist = new URL("../../dist/", import.meta.url).pathname;
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(dist, "index.html"))), "the embedded index.html is web/dist's");
  for (const path of ["/", "/app.js", "/transit.js", "/sw.js", "/style.css", "/ferry-web.json"]) {
    const r = await fetch(`${servers.origin}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
    await r.arrayBuffer();
  }
  const json = await (await fetch(`${servers.origin}/ferry-web.json`)).json();
  assert.deepEqual(json, servers.config, "the page is told this server's mailbox and both relays");
});

test("chromium enforces that CSP on the page from ferry serve", FERRY_SERVES, async () => {
  // A context of its own, not recorded: this test provokes a violation on purpose.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${servers.origin}/`);
    await page.locator("#file-input").waitFor({ state: "attached" });
    const blocked = await page.evaluate(
      () =>
        new Promise((resolve) => {
          document.addEventListener("securitypolicyviolation", (e) => resolve(`${e.effectiveDirective} ${e.blockedURI}`), { once: true });
          try {
            new WebSocket("ws://127.0.0.2:9/"); // loopback: nothing leaves the machine even if allowed
          } catch {
            // older Chromium threw a SecurityError; the violation event comes either way
          }
          setTimeout(() => resolve("no violation"), 5_000);
        }),
    );
    assert.match(blocked, /^connect-src ws:\/\/127\.0\.0\.2:9/);
  } finally {
    await context.close();
  }
});

// ---- ferry CLI <-> page ----

test("page receives a text from ferry send, opened as /#CODE", async () => {
  const c = code();
  const sender = ferry(["send", ...net(), "--code", c, "--text", "hello from ferry ✓"]);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/#${c}`);
  await page.locator("#text-output").filter({ hasText: "hello from ferry ✓" }).waitFor();
  await expectExit0(sender, "ferry send --text");
  await waitDone(page);
  assert.equal(page.url(), `${servers.origin}/`, "the code is dropped from the address bar");
  await close();
});

test("page receives a file from ferry send as a download with identical bytes", async () => {
  const c = code();
  const data = randomBytes(3 * 1024 * 1024 + 123);
  const path = join(work, "to-page.bin");
  writeFileSync(path, data);
  const sender = ferry(["send", ...net(), "--code", c, path]);
  const { page, close } = await newPage();
  const { name, saved } = await downloadFrom(page, `${servers.origin}/#${c}`, "downloaded.bin");
  assert.equal(name, "to-page.bin");
  assert.ok(readFileSync(saved).equals(data), "downloaded bytes equal the sent file");
  await expectExit0(sender, "ferry send FILE");
  await waitDone(page);
  await close();
});

test("page receives a directory from ferry send as DIR.zip with the same files", async () => {
  const c = code();
  const { root, files } = makeTree("album");
  const sender = ferry(["send", ...net(), "--code", c, root]);
  const { page, close } = await newPage();
  const { name, saved } = await downloadFrom(page, `${servers.origin}/#${c}`, "album-from-ferry.zip");
  assert.equal(name, "album.zip");
  assertSameTree(await zipEntries(saved), files);
  await expectExit0(sender, "ferry send DIR");
  await waitDone(page);
  await close();
});

test("the plain WebSocket path (browsers without WebSocketStream) receives from and sends to ferry", async () => {
  const data = randomBytes(5 * 1024 * 1024 + 11);
  const path = join(work, "plain-ws.bin");
  writeFileSync(path, data);
  const c = code();
  const sender = ferry(["send", ...net(), "--code", c, path]);
  const rx = await newPage();
  const { saved } = await downloadFrom(rx.page, `${servers.origin}/?transit-socket=websocket#${c}`, "plain-ws.out");
  assert.ok(readFileSync(saved).equals(data), "downloaded bytes equal the sent file");
  await expectExit0(sender, "ferry send FILE");
  await rx.close();

  const tx = await newPage();
  await tx.page.goto(`${servers.origin}/?transit-socket=websocket`);
  await tx.page.setInputFiles("#file-input", path);
  const out = mkdtempSync(join(work, "recv-plain-ws-"));
  await expectExit0(ferry(["receive", ...net(), "-y", "-o", out, await shownCode(tx.page)]), "ferry receive");
  assert.ok(readFileSync(join(out, "plain-ws.bin")).equals(data), "received bytes equal the page's file");
  await waitDone(tx.page);
  await tx.close();
});

test("page sends a file to ferry receive", async () => {
  const data = randomBytes(2 * 1024 * 1024 + 7);
  const path = join(work, "from-page.bin");
  writeFileSync(path, data);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#file-input", path);
  const c = await shownCode(page);
  assert.match(c ?? "", /^\d+-\w+-\w+$/);
  assert.equal(await page.locator("#link").getAttribute("href"), `${servers.origin}/#${c}`);
  assert.match((await page.locator("#qr").getAttribute("src")) ?? "", /^data:image\/gif;base64,/);
  // FERRY_SCREENSHOT=path.png keeps a picture of the page showing a code, link and QR (for docs).
  if (process.env.FERRY_SCREENSHOT) await page.screenshot({ path: process.env.FERRY_SCREENSHOT, fullPage: true });
  const out = mkdtempSync(join(work, "recv-"));
  const receiver = ferry(["receive", ...net(), "-y", "-o", out, c]);
  await expectExit0(receiver, "ferry receive");
  assert.ok(readFileSync(join(out, "from-page.bin")).equals(data), "received bytes equal the page's file");
  await waitDone(page);
  await close();
});

test("a wrong code shows a visible error saying the code was wrong", async () => {
  const c = code("guitarist-revenge");
  const wrong = c.replace("guitarist-revenge", "absurd-bedlamp");
  const sender = ferry(["send", ...net(), "--code", c, "--text", "secret"]);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/#${wrong}`);
  const err = page.locator("#error[data-kind=wrong-code]");
  await err.waitFor({ state: "visible" });
  assert.match((await err.textContent()) ?? "", /wrong code/i);
  const r = await finish(sender, STEP_MS, "ferry send (wrong code)");
  assert.equal(r.code, WRONG_CODE_EXIT, `the sender fails with the wrong-code exit code:\n${r.stderr}`);
  await close();
});

test("page receives a file from Python wormhole send", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const c = code();
  const data = randomBytes(1024 * 1024 + 5);
  const path = join(work, "from-python.bin");
  writeFileSync(path, data);
  const sender = python(["send", "--code", c, path]);
  const { page, close } = await newPage();
  const { saved } = await downloadFrom(page, `${servers.origin}/#${c}`, "py-downloaded.bin");
  assert.ok(readFileSync(saved).equals(data));
  await expectExit0(sender, "wormhole send");
  await close();
});

test("page sends a file to Python wormhole receive", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const data = randomBytes(1024 * 1024 + 9);
  const path = join(work, "to-python.bin");
  writeFileSync(path, data);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#file-input", path);
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "py-recv-"));
  const receiver = python(["receive", "--accept-file", "-o", join(out, "to-python.bin"), c]);
  await expectExit0(receiver, "wormhole receive");
  assert.ok(readFileSync(join(out, "to-python.bin")).equals(data));
  await waitDone(page);
  await close();
});

test("page sends a text to ferry receive", async () => {
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.fill("#text-input", "hello from the page ✓");
  await page.click("#text-form button");
  const c = await shownCode(page);
  const receiver = ferry(["receive", ...net(), c]);
  const r = await finish(receiver, STEP_MS, "ferry receive (text)");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /hello from the page ✓/);
  await waitDone(page);
  await close();
});

test("page receives a directory from Python wormhole send as DIR.zip", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const c = code();
  const dir = mkdtempSync(join(work, "dir-"));
  mkdirSync(join(dir, "photos", "sub"), { recursive: true });
  writeFileSync(join(dir, "photos", "a.txt"), "alpha\n");
  writeFileSync(join(dir, "photos", "sub", "b.bin"), randomBytes(70_000));
  const sender = python(["send", "--code", c, join(dir, "photos")]);
  const { page, close } = await newPage();
  const { name, saved } = await downloadFrom(page, `${servers.origin}/#${c}`, "photos.zip");
  assert.equal(name, "photos.zip");
  const names = start("python3", ["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(sorted(z.namelist()))", saved]);
  const listed = await finish(names, STEP_MS, "python3 zipfile");
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /a\.txt/);
  assert.match(listed.stdout, /sub\/b\.bin/);
  await expectExit0(sender, "wormhole send DIR");
  await close();
});

test("page receives a text from Python wormhole send and sends one to wormhole receive", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const c = code();
  const sender = python(["send", "--code", c, "--text", "hello from python"]);
  const rx = await newPage();
  await rx.page.goto(`${servers.origin}/#${c}`);
  await rx.page.locator("#text-output").filter({ hasText: "hello from python" }).waitFor();
  await expectExit0(sender, "wormhole send --text");
  await rx.close();
  const tx = await newPage();
  await tx.page.goto(`${servers.origin}/`);
  await tx.page.fill("#text-input", "hello python, from the page");
  await tx.page.click("#text-form button");
  const r = await finish(python(["receive", await shownCode(tx.page)]), STEP_MS, "wormhole receive (text)");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /hello python, from the page/);
  await waitDone(tx.page);
  await tx.close();
});

test("the sender going away mid-transfer shows that the peer is gone", async () => {
  const c = code();
  const path = join(work, "big.bin");
  writeFileSync(path, Buffer.alloc(512 * 1024 * 1024)); // zeros: quick to write, slow enough to interrupt
  const sender = ferry(["send", ...net(), "--code", c, path]);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/#${c}`);
  await page.locator("#progress").waitFor({ state: "visible" });
  process.kill(-sender.child.pid, "SIGKILL");
  const err = page.locator("#error[data-kind=peer-gone]");
  await err.waitFor({ state: "visible" });
  assert.match((await err.textContent()) ?? "", /went away/);
  rmSync(path);
  await close();
});

test("cancel while sending stops the transfer and the receiver fails", async () => {
  const path = join(work, "big-send.bin");
  writeFileSync(path, Buffer.alloc(512 * 1024 * 1024));
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#file-input", path);
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "recv-cancel-"));
  const receiver = ferry(["receive", ...net(), "-y", "-o", out, c]);
  await page.locator("#progress").waitFor({ state: "visible" });
  await page.click("#cancel");
  await page.locator("#error[data-kind=cancelled]").waitFor({ state: "visible" });
  const r = await finish(receiver, STEP_MS, "ferry receive (cancelled)");
  assert.notEqual(r.code, 0, "the receiver must not report success");
  rmSync(path);
  await close();
});

test("page sends a file to another page", async () => {
  const data = randomBytes(1024 * 1024 + 3);
  const path = join(work, "page-to-page.bin");
  writeFileSync(path, data);
  const sender = await newPage();
  await sender.page.goto(`${servers.origin}/`);
  await sender.page.setInputFiles("#file-input", path);
  const c = await shownCode(sender.page);
  const receiver = await newPage();
  const { saved } = await downloadFrom(receiver.page, `${servers.origin}/#${c}`, "page-to-page.out");
  assert.ok(readFileSync(saved).equals(data));
  await waitDone(sender.page);
  await waitDone(receiver.page);
  await sender.close();
  await receiver.close();
});

test("the server going away while waiting for the peer is shown as server gone", async () => {
  // Servers of its own: this test kills the mailbox.
  const own = await startServers(mkdtempSync(join(work, "own-")), FERRY);
  ownOrigins.push(own.origin + "/", own.config.mailbox, own.config.relay_ws);
  try {
    const { page, close } = await newPage();
    await page.goto(`${own.origin}/`);
    await page.fill("#text-input", "nobody will read this");
    await page.click("#text-form button");
    await shownCode(page);
    process.kill(-own.mailboxProc.child.pid, "SIGKILL");
    const err = page.locator("#error[data-kind=server-gone]");
    await err.waitFor({ state: "visible" });
    assert.match((await err.textContent()) ?? "", /connection to the ferry server/);
    await close();
  } finally {
    await own.close();
  }
});

// ---- wormhole-william, the sender cancelling, a wrong code typed into ferry ----
//
// wormhole-william (1.0.6) has no transit-relay flag: its relay is always
// transit.magic-wormhole.io:4001. Only in the test namespace (interop/run-in-netns.sh) is
// that name loopback (127.0.0.1, where the namespace's Python relay listens, TCP only);
// anywhere else william would reach the public relay, so these tests run only there.
//
// william *receiving* from the page works with our servers as they are: it connects to the
// relay hint the page sends in its `transit` message (relay_tcp from /ferry-web.json, the TCP
// side of the relay the page reaches over WebSocket).
//
// william *sending* never reads the receiver's `transit` message: after the answer it only
// waits on its own listener (direct hints; a page cannot dial those) and on the connection it
// made to its built-in relay. So the page can receive from william only through a relay that
// has both william's TCP side, at the address transit.magic-wormhole.io names, and the
// page's WebSocket side. For those tests a `ferry serve` of their own puts its TCP relay on
// 127.0.0.2:4001 (127.0.0.1:4001 is the namespace's Python relay), and william runs under
// `unshare --mount` with a private /etc/hosts naming 127.0.0.2 for transit.magic-wormhole.io.

const HAS_WILLIAM = {
  skip: (!existsSync(WILLIAM) && `no ${WILLIAM}`) || (process.env.FERRY_IN_TEST_NETNS !== "1" && "wormhole-william would use the public relay outside interop/run-in-netns.sh"),
};

/** `wormhole-william` against `mailbox`; `stdin` is written to it (william asks "ok? (y/N)"); `hosts`: a private /etc/hosts. */
function william(args, { cwd = work, stdin = "", mailbox = servers.config.mailbox, hosts } = {}) {
  const cmd = [WILLIAM, "--relay-url", mailbox, ...args];
  const [bin, argv] = hosts ? ["unshare", ["--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hosts, ...cmd]] : [cmd[0], cmd.slice(1)];
  const p = start(bin, argv, { cwd, env: { ...process.env, HOME: work }, stdio: ["pipe", "pipe", "pipe"] });
  p.child.stdin.end(stdin);
  return p;
}

let williamRelay;
/** The ferry serve whose TCP relay is william's built-in one (see above), started once. */
async function williamRelayServer() {
  if (williamRelay) return williamRelay;
  const dir = mkdtempSync(join(work, "william-relay-"));
  const [mb, ws] = await Promise.all([freePort(), freePort()]);
  const args = ["serve", "--mailbox-listen", `127.0.0.1:${mb}`, "--relay-listen", "127.0.0.2:4001", "--relay-ws-listen", `127.0.0.1:${ws}`, "--database", ":memory:"];
  const srv = start(FERRY, args, { cwd: dir });
  const ready = (port, host) => waitForPort(port, STEP_MS, srv, `ferry serve for william (${host}:${port})`, host);
  await Promise.all([ready(mb, "127.0.0.1"), ready(ws, "127.0.0.1"), ready(4001, "127.0.0.2")]);
  const hosts = join(dir, "hosts");
  writeFileSync(hosts, "127.0.0.1 localhost\n::1 localhost\n127.0.0.2 transit.magic-wormhole.io relay.magic-wormhole.io\n");
  williamRelay = { origin: `http://127.0.0.1:${mb}`, mailbox: `ws://127.0.0.1:${mb}/v1`, hosts };
  ownOrigins.push(`${williamRelay.origin}/`, williamRelay.mailbox, `ws://127.0.0.1:${ws}/`);
  return williamRelay;
}

test("page receives a file from wormhole-william send", HAS_WILLIAM, async () => {
  const via = await williamRelayServer();
  const c = code();
  const data = randomBytes(1024 * 1024 + 11);
  const path = join(work, "from-william.bin");
  writeFileSync(path, data);
  const sender = william(["send", "--hide-progress", "--code", c, path], via);
  const { page, close } = await newPage();
  const { name, saved } = await downloadFrom(page, `${via.origin}/#${c}`, "william-downloaded.bin");
  assert.equal(name, "from-william.bin");
  assert.ok(readFileSync(saved).equals(data), "downloaded bytes equal william's file");
  await expectExit0(sender, "wormhole-william send FILE");
  await waitDone(page);
  await close();
});

test("page receives a text from wormhole-william send", HAS_WILLIAM, async () => {
  const c = code();
  const sender = william(["send", "--hide-progress", "--code", c, "--text", "hello from william ✓"]);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/#${c}`);
  await page.locator("#text-output").filter({ hasText: "hello from william ✓" }).waitFor();
  await expectExit0(sender, "wormhole-william send --text");
  await waitDone(page);
  await close();
});

test("page receives a directory from wormhole-william send as DIR.zip", HAS_WILLIAM, async () => {
  const via = await williamRelayServer();
  const c = code();
  const dir = mkdtempSync(join(work, "wdir-"));
  mkdirSync(join(dir, "album", "deeper"), { recursive: true });
  writeFileSync(join(dir, "album", "one.txt"), "one\n");
  const two = randomBytes(90_000);
  writeFileSync(join(dir, "album", "deeper", "two.bin"), two);
  const sender = william(["send", "--hide-progress", "--code", c, join(dir, "album")], via);
  const { page, close } = await newPage();
  const { name, saved } = await downloadFrom(page, `${via.origin}/#${c}`, "album.zip");
  assert.equal(name, "album.zip");
  const script =
    "import hashlib, json, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; " +
    "print(json.dumps({n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if not n.endswith('/')}))";
  const listed = await finish(start("python3", ["-c", script, saved]), STEP_MS, "python3 zipfile");
  assert.equal(listed.code, 0, listed.stderr);
  const sha = (b) => createHash("sha256").update(b).digest("hex");
  const files = JSON.parse(listed.stdout);
  assert.deepEqual(Object.keys(files).map((n) => n.replace(/^album\//, "")).sort(), ["deeper/two.bin", "one.txt"]);
  assert.equal(Object.entries(files).find(([n]) => n.endsWith("two.bin"))?.[1], sha(two), "two.bin's bytes survive");
  await expectExit0(sender, "wormhole-william send DIR");
  await waitDone(page);
  await close();
});

test("page sends a file to wormhole-william receive", HAS_WILLIAM, async () => {
  const data = randomBytes(1024 * 1024 + 13);
  const path = join(work, "to-william.bin");
  writeFileSync(path, data);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#file-input", path);
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "william-recv-"));
  const receiver = william(["receive", "--hide-progress", c], { cwd: out, stdin: "y\n" });
  await expectExit0(receiver, "wormhole-william receive FILE");
  assert.ok(readFileSync(join(out, "to-william.bin")).equals(data), "william received the page's bytes");
  await waitDone(page);
  await close();
});

test("page sends a text to wormhole-william receive", HAS_WILLIAM, async () => {
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.fill("#text-input", "hello william, from the page ✓");
  await page.click("#text-form button");
  const c = await shownCode(page);
  const r = await finish(william(["receive", "--hide-progress", c]), STEP_MS, "wormhole-william receive (text)");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /hello william, from the page ✓/);
  await waitDone(page);
  await close();
});

test("ferry send interrupted (SIGINT) while the page receives: the page fails visibly, ferry exits 130", async (t) => {
  const c = code();
  const path = join(work, "big-interrupted.bin");
  writeFileSync(path, Buffer.alloc(256 * 1024 * 1024)); // ~15 s to the page: long enough to interrupt
  const sender = ferry(["send", ...net(), "--code", c, path]);
  const { page, close } = await newPage();
  try {
    await page.goto(`${servers.origin}/#${c}`);
    await page.locator("#progress").waitFor({ state: "visible" });
    assert.equal(await page.locator("body").getAttribute("data-state"), "busy", "still receiving when ferry is interrupted");
    process.kill(sender.child.pid, "SIGINT"); // Ctrl-C, to ferry alone
    const r = await finish(sender, STEP_MS, "ferry send (SIGINT)");
    assert.equal(r.code, INTERRUPTED_EXIT, `ferry send exits 130 on Ctrl-C:\n${r.stderr}`);
    const err = page.locator("#error[data-kind]");
    await err.waitFor({ state: "visible" });
    const kind = await err.getAttribute("data-kind");
    t.diagnostic(`the page showed ${kind}: ${await err.textContent()}`);
    // the transit connection closing (peer-gone, seen) or ferry's `error` message (peer-error), whichever comes first
    assert.ok(["peer-gone", "peer-error"].includes(kind ?? ""), `error kind ${kind}: ${await err.textContent()}`);
    await page.locator("body[data-state=failed]").waitFor();
    assert.equal(await page.locator("body[data-state=done]").count(), 0, "the page never says done");
  } finally {
    rmSync(path);
    await close();
  }
});

test("a wrong code typed into ferry receive: ferry exits 3 and the sending page shows wrong-code", async () => {
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.fill("#text-input", "for the right code only");
  await page.click("#text-form button");
  const c = (await shownCode(page)) ?? "";
  const [nameplateShown, ...words] = c.split("-");
  const wrongWords = words.join("-") === "absurd-bedlamp" ? "aardvark-bedlamp" : "absurd-bedlamp";
  const r = await finish(ferry(["receive", ...net(), `${nameplateShown}-${wrongWords}`]), STEP_MS, "ferry receive (wrong code)");
  assert.equal(r.code, WRONG_CODE_EXIT, `ferry receive exits with the wrong-code code:\n${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /for the right code only/);
  const err = page.locator("#error[data-kind=wrong-code]");
  await err.waitFor({ state: "visible" });
  assert.match((await err.textContent()) ?? "", /wrong code/i);
  await page.locator("body[data-state=failed]").waitFor();
  await close();
});

// Last: it checks what every page above loaded.
// ---- Folders and several files (send as a zip built on the fly, unpack into a picked folder) and offline use ----

/** A folder of two levels with a UTF-8 name and an empty file, as `{relative path: bytes}`. */
function makeTree(name) {
  const root = join(mkdtempSync(join(work, "tree-")), name);
  const files = {
    "top.txt": Buffer.from("top level\n"),
    "héllo wörld ✓.txt": Buffer.from("unicode name ✓\n"),
    "empty.dat": Buffer.alloc(0),
    "sub/c.txt": Buffer.from("second level\n"),
    "sub/deeper/b.bin": randomBytes(300_000),
  };
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), data);
  }
  return { root, files };
}

/** Every file under `dir` as `{relative path: bytes}` (directories only as the paths of their files). */
function readTree(dir, prefix = "") {
  const out = {};
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + ent.name;
    if (ent.isDirectory()) Object.assign(out, readTree(join(dir, ent.name), rel + "/"));
    else out[rel] = readFileSync(join(dir, ent.name));
  }
  return out;
}

function assertSameTree(got, want) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const [rel, data] of Object.entries(want)) assert.ok(got[rel].equals(data), `${rel} differs`);
}

/** Python's zipfile: `{name: hex}` of a zip, after testzip. */
async function zipEntries(path) {
  const script = "import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename:z.read(i).hex() for i in z.infolist() if not i.is_dir()}))";
  const r = await finish(start("python3", ["-c", script, path]), STEP_MS, "python3 zipfile");
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries(Object.entries(JSON.parse(r.stdout)).map(([k, v]) => [k, Buffer.from(v, "hex")]));
}

test("the native file inputs are hidden, their labels show, and the keyboard (Tab, Space) still opens the pickers", async () => {
  const { page, close } = await newPage();
  // Listening before anything else: Playwright turns file-chooser interception
  // on when the first listener is added, without waiting for the browser, and a
  // picker opened before it took effect is a real (headless, dismissed) one
  // that fires no event: the test timed out now and then.
  const choosers = [];
  page.on("filechooser", (c) => choosers.push(c));
  await page.goto(`${servers.origin}/`);
  for (const id of ["file-input", "folder-input"]) {
    const box = await page.locator(`#${id}`).boundingBox();
    assert.ok(box !== null && box.width <= 1 && box.height <= 1, `#${id} is visually hidden: ${JSON.stringify(box)}`);
    assert.ok(await page.locator(`label[for=${id}]`).isVisible());
  }
  await page.focus("#code-input");
  const stops = [];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press("Tab");
    stops.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent));
  }
  assert.deepEqual(stops, ["Receive", "receive-folder", "file-input", "folder-input"]);
  await page.keyboard.press("Shift+Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "file-input");
  const chooser = page.waitForEvent("filechooser");
  await page.keyboard.press("Space");
  assert.equal((await chooser).isMultiple(), true, "the files picker takes several files");
  assert.equal(choosers.length, 1, "one picker opened");
  await close();
});

test("page sends a folder to ferry receive, which unpacks the same tree", async () => {
  const { root, files } = makeTree("folder ✓");
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#folder-input", root);
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "recv-dir-"));
  await expectExit0(ferry(["receive", ...net(), "-y", "-o", out, c]), "ferry receive (folder)");
  assertSameTree(readTree(join(out, "folder ✓")), files);
  await waitDone(page);
  await close();
});

test("page sends a folder to Python wormhole receive", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const { root, files } = makeTree("pyfolder");
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#folder-input", root);
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "py-recv-dir-"));
  await expectExit0(python(["receive", "--accept-file", "-o", join(out, "pyfolder"), c]), "wormhole receive (folder)");
  assertSameTree(readTree(join(out, "pyfolder")), files);
  await waitDone(page);
  await close();
});

test("page sends several loose files to ferry receive as one folder", async () => {
  const dir = mkdtempSync(join(work, "loose-"));
  const files = { "one.txt": Buffer.from("one\n"), "two.bin": randomBytes(1024 * 1024 + 3), "três.txt": Buffer.from("três\n") };
  for (const [n, d] of Object.entries(files)) writeFileSync(join(dir, n), d);
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#file-input", Object.keys(files).map((n) => join(dir, n)));
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "recv-loose-"));
  await expectExit0(ferry(["receive", ...net(), "-y", "-o", out, c]), "ferry receive (several files)");
  assertSameTree(readTree(join(out, "files")), files);
  await waitDone(page);
  await close();
});

test("files dropped on the page go to ferry receive as one folder", async () => {
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  // A synthetic drop (Playwright cannot drag from the desktop): File objects in a DataTransfer.
  const dt = await page.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File(["first\n"], "dropped-1.txt"));
    d.items.add(new File(["second ✓\n"], "dropped-2.txt"));
    return d;
  });
  await page.dispatchEvent("#drop", "drop", { dataTransfer: dt });
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "recv-drop-"));
  await expectExit0(ferry(["receive", ...net(), "-y", "-o", out, c]), "ferry receive (dropped files)");
  assertSameTree(readTree(join(out, "files")), { "dropped-1.txt": Buffer.from("first\n"), "dropped-2.txt": Buffer.from("second ✓\n") });
  await waitDone(page);
  await close();
});

test("a folder and a file dragged in from the desktop (CDP drag events) go to ferry receive", async () => {
  const { root, files } = makeTree("dragged");
  const loose = join(work, "beside.txt");
  writeFileSync(loose, "beside the folder\n");
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  // Input.dispatchDragEvent is a drag from outside the page with real paths, so the page
  // sees real entries (webkitGetAsEntry) and walks the folder; a synthetic DataTransfer has none.
  const cdp = await page.context().newCDPSession(page);
  const box = await page.locator("#drop").boundingBox();
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: [root, loose], dragOperationsMask: 1 };
  for (const type of ["dragEnter", "dragOver", "drop"]) await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "recv-drag-"));
  await expectExit0(ferry(["receive", ...net(), "-y", "-o", out, c]), "ferry receive (dragged folder and file)");
  const want = { "beside.txt": Buffer.from("beside the folder\n") };
  for (const [rel, d] of Object.entries(files)) want[`dragged/${rel}`] = d;
  assertSameTree(readTree(join(out, "files")), want);
  await waitDone(page);
  await close();
});

test("page sends a folder to another page, which downloads DIR.zip", async () => {
  const { root, files } = makeTree("p2p");
  const sender = await newPage();
  await sender.page.goto(`${servers.origin}/`);
  await sender.page.setInputFiles("#folder-input", root);
  const c = await shownCode(sender.page);
  const receiver = await newPage();
  const { name, saved } = await downloadFrom(receiver.page, `${servers.origin}/#${c}`, "p2p.zip");
  assert.equal(name, "p2p.zip");
  assertSameTree(await zipEntries(saved), files);
  await waitDone(sender.page);
  await waitDone(receiver.page);
  await sender.close();
  await receiver.close();
});

// Playwright cannot click the native folder picker, so the page's own picker call is
// answered with a folder in the origin-private file system (same FileSystemDirectoryHandle
// API). This covers the UI button, the folder sink and unpack.ts (stored and deflated
// entries, hostile names, fresh names, deleting the zip), not the native dialog, the
// permission prompt, nor a real disk's file system (names Windows refuses, for one).
const OPFS_PICKER = `window.showDirectoryPicker = async () => (await navigator.storage.getDirectory()).getDirectoryHandle("picked", { create: true });`;

/** Every file under the OPFS folder "picked", as `{path: hex}`. */
async function opfsTree(page) {
  const tree = await page.evaluate(async () => {
    const out = {};
    const walk = async (dir, prefix) => {
      for await (const [name, h] of dir.entries()) {
        if (h.kind === "directory") await walk(h, `${prefix}${name}/`);
        else out[prefix + name] = Array.from(new Uint8Array(await (await h.getFile()).arrayBuffer()), (b) => b.toString(16).padStart(2, "0")).join("");
      }
    };
    await walk(await (await navigator.storage.getDirectory()).getDirectoryHandle("picked"), "");
    return out;
  });
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, Buffer.from(v, "hex")]));
}

test("page receives a folder from Python wormhole send into a picked folder (OPFS stands in for the picker)", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const { root, files } = makeTree("photos");
  const c = code();
  const sender = python(["send", "--code", c, root]);
  const { page, close } = await newPage();
  await page.addInitScript(OPFS_PICKER);
  await page.goto(`${servers.origin}/`);
  // An existing "photos" with a file: the new folder gets a fresh name and nothing is overwritten.
  await page.evaluate(async () => {
    const picked = await (await navigator.storage.getDirectory()).getDirectoryHandle("picked", { create: true });
    const w = await (await (await picked.getDirectoryHandle("photos", { create: true })).getFileHandle("top.txt", { create: true })).createWritable();
    await w.write("keep me");
    await w.close();
  });
  await page.fill("#code-input", c);
  await page.click("#receive-folder");
  await waitDone(page);
  assert.match((await page.locator("#status").textContent()) ?? "", /Unpacked 5 files into photos \(1\)\./);
  await expectExit0(sender, "wormhole send DIR");
  const got = await opfsTree(page);
  assert.equal(got["photos/top.txt"]?.toString(), "keep me");
  const unpacked = Object.fromEntries(Object.entries(got).filter(([k]) => k.startsWith("photos (1)/")).map(([k, v]) => [k.slice("photos (1)/".length), v]));
  assertSameTree(unpacked, files);
  assert.deepEqual(Object.keys(got).filter((k) => !k.startsWith("photos")), [], "the temporary zip is gone");
  await close();
});

/** A zip with deflated and stored entries, hostile names, a duplicate, a symlink and a wrong CRC (Python's zipfile, then patched). */
async function hostileZip(path) {
  const script = `
import sys, zipfile
names = ["ok/deflated.txt", "../evil.txt", "/abs.txt", "C:/drive.txt", "a\\\\..\\\\..\\\\back.txt", "dup.txt", "dup.txt", "badcrc.txt"]
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n in names:
        z.writestr(zipfile.ZipInfo(n), ("line of %s\\n" % n) * 5000, compress_type=zipfile.ZIP_DEFLATED)
    z.writestr(zipfile.ZipInfo("stored.bin"), bytes(range(256)) * 10, compress_type=zipfile.ZIP_STORED)
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    z.writestr(link, "../../../etc/passwd")
data = bytearray(open(sys.argv[1], "rb").read())
cd = data.find(b"badcrc.txt", data.find(b"PK\\x01\\x02")) - 46  # its central header
data[cd + 16] ^= 0xFF  # a CRC byte
open(sys.argv[1], "wb").write(bytes(data))
print(zipfile.ZipFile(sys.argv[1]).namelist())
`;
  const r = await finish(start("python3", ["-W", "ignore", "-c", script, path]), STEP_MS, "python3 (hostile zip)");
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Python's `wormhole send` offering our `zip` as directory `dirname`; the page receives it into the OPFS "picked" folder. */
async function zipIntoPickedFolder(zip, dirname, extraEnv = {}) {
  const c = code();
  const env = { ...process.env, HOME: work, FERRY_TEST_ZIP: zip, FERRY_TEST_DIRNAME: dirname, ...extraEnv };
  const netArgs = ["--relay-url", servers.config.mailbox, "--transit-helper", servers.config.relay_tcp];
  const script = new URL("./zip-sender.py", import.meta.url).pathname;
  const sender = start(join(PYBIN, "python3"), [script, ...netArgs, "send", "--code", c, zip], { cwd: work, env });
  const { page, close } = await newPage();
  await page.addInitScript(OPFS_PICKER);
  await page.goto(`${servers.origin}/`);
  await page.fill("#code-input", c);
  await page.click("#receive-folder");
  await waitDone(page);
  await expectExit0(sender, "wormhole send (our zip)");
  return { page, close, status: (await page.locator("#status").textContent()) ?? "" };
}

test("a hostile zip from a real wormhole sender unpacks only what is safe, inside the picked folder", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const zip = join(work, "hostile.zip");
  const listed = await hostileZip(zip);
  assert.match(listed, /\.\.\/evil\.txt/, "Python kept the hostile names");
  const { page, close, status } = await zipIntoPickedFolder(zip, "hostile");
  assert.match(status, /Unpacked 4 files into hostile\. Skipped 6: .* and 1 more\.$/);
  for (const why of [/\.\.\/evil\.txt: path goes outside/, /\/abs\.txt: absolute path/, /C:\/drive\.txt: drive letter/, /back\.txt: path goes outside/, /badcrc\.txt: CRC-32 does not match/]) assert.match(status, why);
  const got = await opfsTree(page);
  assert.deepEqual(Object.keys(got).sort(), ["hostile/dup (1).txt", "hostile/dup.txt", "hostile/ok/deflated.txt", "hostile/stored.bin"]);
  assert.equal(got["hostile/ok/deflated.txt"]?.toString(), "line of ok/deflated.txt\n".repeat(5000));
  assert.ok(got["hostile/stored.bin"]?.equals(Buffer.concat(Array(10).fill(Buffer.from(Array.from({ length: 256 }, (_, i) => i))))));
  const top = await page.evaluate(async () => {
    const names = [];
    for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name);
    return names;
  });
  assert.deepEqual(top, ["picked"], "nothing outside the picked folder");
  await close();
});

test("a zip that unpacks to more than its offer said is not unpacked, and is kept", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const zip = join(work, "bomb.zip");
  await hostileZip(zip);
  const { page, close, status } = await zipIntoPickedFolder(zip, "bomb", { FERRY_TEST_NUMBYTES: "1000" });
  assert.match(status, /Received bomb\.zip, but could not unpack it \(.*more than allowed\); the zip is kept\./);
  const got = await opfsTree(page);
  assert.ok(got["bomb.zip"]?.equals(readFileSync(zip)), "the received zip is kept whole");
  assert.deepEqual(Object.keys(got).filter((k) => k !== "bomb.zip"), []);
  await close();
});

test("page sends a folder to wormhole-william receive (Go's archive/zip unpacks it)", HAS_WILLIAM, async () => {
  const { root, files } = makeTree("gofolder");
  const { page, close } = await newPage();
  await page.goto(`${servers.origin}/`);
  await page.setInputFiles("#folder-input", root);
  const c = await shownCode(page);
  const out = mkdtempSync(join(work, "go-recv-dir-"));
  await expectExit0(william(["receive", "--hide-progress", c], { cwd: out, stdin: "y\n" }), "wormhole-william receive (folder)");
  assertSameTree(readTree(join(out, "gofolder")), files);
  await waitDone(page);
  await close();
});

test("Cancel while unpacking stops it and keeps the received zip", { skip: !existsSync(join(PYBIN, "wormhole")) }, async () => {
  const root = join(mkdtempSync(join(work, "many-")), "many");
  mkdirSync(root);
  for (let i = 0; i < 3000; i++) writeFileSync(join(root, `f${i}.txt`), `file ${i}\n`);
  const c = code();
  const sender = python(["send", "--code", c, root]);
  const { page, close } = await newPage();
  await page.addInitScript(OPFS_PICKER);
  await page.goto(`${servers.origin}/`);
  await page.fill("#code-input", c);
  await page.click("#receive-folder");
  await page.locator("#status").filter({ hasText: "Unpacking many.zip" }).waitFor();
  await page.click("#cancel");
  const err = page.locator("#error[data-kind=cancelled]");
  await err.waitFor({ state: "visible" });
  assert.match((await err.textContent()) ?? "", /^Cancelled while unpacking: Unpacked \d+ files into many\. many\.zip is kept\.$/);
  await expectExit0(sender, "wormhole send (3000 files)");
  const got = await opfsTree(page);
  assert.ok(got["many.zip"]?.length > 0, "the zip is kept");
  assert.ok(Object.keys(got).filter((k) => k.startsWith("many/")).length < 3000, "unpacking stopped early");
  await close();
});

test("page receives a file from ferry send into a picked folder under a fresh name", async () => {
  const c = code();
  const data = randomBytes(200_000);
  const path = join(work, "into-folder.bin");
  writeFileSync(path, data);
  const sender = ferry(["send", ...net(), "--code", c, path]);
  const { page, close } = await newPage();
  await page.addInitScript(OPFS_PICKER);
  await page.goto(`${servers.origin}/`);
  await page.evaluate(async () => {
    const picked = await (await navigator.storage.getDirectory()).getDirectoryHandle("picked", { create: true });
    await picked.getFileHandle("into-folder.bin", { create: true });
  });
  await page.fill("#code-input", c);
  await page.click("#receive-folder");
  await waitDone(page);
  await expectExit0(sender, "ferry send FILE (into a folder)");
  const got = await opfsTree(page);
  assert.equal(got["into-folder.bin"]?.length, 0, "the existing file is untouched");
  assert.ok(got["into-folder (1).bin"]?.equals(data));
  await close();
});

test("once loaded, the page opens offline and says the server is gone", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (m) => /Content.Security.Policy/i.test(m.text()) && cspViolations.push(m.text()));
  await page.goto(`${servers.origin}/`);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await context.setOffline(true);
  const reloaded = await page.reload();
  assert.ok(reloaded?.fromServiceWorker(), "the page came from the service worker's cache");
  const direct = await page.evaluate(() => fetch("/not-in-the-shell").then(() => "fetched", (e) => String(e)));
  assert.match(direct, /TypeError/, "the network really is off");
  await page.locator("#send").waitFor({ state: "visible" });
  await page.locator("#receive-form").waitFor({ state: "visible" });
  assert.match((await page.locator("#drop").textContent()) ?? "", /Drop files or folders/);
  await page.fill("#code-input", code());
  await page.click("#receive-form button[type=submit]");
  const err = page.locator("#error[data-kind=server-gone]");
  await err.waitFor({ state: "visible" });
  assert.match((await err.textContent()) ?? "", /ferry server/);
  await context.close();
});

// Last: it checks what every page above loaded.
test("the pages loaded nothing from another origin and broke no CSP rule", () => {
  assert.ok(requests.length > 0);
  if (SERVERS === "ferry") {
    // the pages really came from ferry serve (its mailbox port), under the CSP pinned above
    assert.equal(servers.origin, new URL(servers.config.mailbox).origin.replace(/^ws/, "http"));
    for (const file of ["/", "/app.js", "/style.css", "/ferry-web.json"]) assert.ok(requests.includes(servers.origin + file), `${file} loaded from ferry serve`);
  }
  const allowed = [servers.origin + "/", servers.config.mailbox, servers.config.relay_ws, ...ownOrigins];
  const foreign = requests.filter((u) => !u.startsWith("data:") && !allowed.some((a) => u.startsWith(a)));
  assert.deepEqual(foreign, []);
  assert.deepEqual(cspViolations, []);
});
