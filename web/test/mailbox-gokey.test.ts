// The machine when gospake2's key differs (spake2.ts): our `version` waits for
// the peer's, whose key wins; two waiting sides meet after the timer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex, fromUtf8, utf8 } from "../src/wormhole/bytes.ts";
import { asSharedKey, decryptPhase, encryptPhase, verifier } from "../src/wormhole/keys.ts";
import { VERSION_WAIT_MS } from "../src/wormhole/mailbox.ts";
import type { ClientMessage } from "../src/wormhole/mailbox-wire.ts";
import { pakeBody } from "../src/wormhole/pake.ts";
import type { Random } from "../src/wormhole/random.ts";
import { FakeMailboxServer } from "./fake-mailbox.ts";
import { GO_CASES, GO_CODE, entropyOf, type GoCase } from "./gospake2-vectors.ts";
import { seeded, unhex } from "./kat.ts";
import { APPID, peer, run, type Peer } from "./mailbox-peers.ts";

const PEER_SIDE = "bbbbbbbbbb";
const VERSION = utf8('{"app_versions":{}}');

/** The PAKE entropy `b` for the one 64-byte draw, seeded bytes for the rest. */
function entropy(b: number): Random {
  const rest = seeded(b);
  return (n) => (n === 64 ? entropyOf(b) : rest(n));
}

/** A page client holding `first` back, and a scripted peer (side B of case `c`) on the same nameplate. */
function setup(c: GoCase) {
  const server = new FakeMailboxServer();
  const page = peer(server, "aaaaaaaaaa", entropy(c.a));
  page.apply(page.client.setCode(GO_CODE));
  page.apply(page.client.send(utf8("first")));
  const conn = server.connect();
  const say = (frame: ClientMessage) => conn.receive(JSON.stringify(frame));
  say({ type: "bind", appid: APPID, side: PEER_SIDE });
  say({ type: "claim", nameplate: "4" });
  say({ type: "open", mailbox: "mb1" });
  say({ type: "add", phase: "pake", body: bytesToHex(pakeBody(unhex(c.msgB))) });
  const add = (key: Uint8Array, phase: string, plaintext: Uint8Array) =>
    say({ type: "add", phase, body: bytesToHex(encryptPhase(asSharedKey(key), PEER_SIDE, phase, plaintext, seeded(3))) });
  return { page, add };
}

/** What the page added in `phase`, opened with `key`. */
function opened(page: Peer, phase: string, key: string): string | null {
  const frame = page.sent.find((f) => f.type === "add" && f.phase === phase);
  if (frame?.type !== "add") return null;
  return fromUtf8(decryptPhase(asSharedKey(unhex(key)), "aaaaaaaaaa", phase, unhex(frame.body)));
}

const versionSent = (page: Peer) => page.sent.some((f) => f.type === "add" && f.phase === "version");

for (const [i, c] of GO_CASES.entries()) {
  test(`case ${i}: a gospake2 peer's version picks its key; ours and our payloads follow under it`, () => {
    const { page, add } = setup(c);
    run(page);
    assert.deepEqual(page.of("timer"), [{ type: "timer", ms: VERSION_WAIT_MS }]);
    assert.equal(versionSent(page), false, "our version waits for the peer's");
    add(unhex(c.goKey), "version", VERSION); // wormhole-william: ReadPake, then WriteVersion at once
    run(page);
    assert.equal(opened(page, "version", c.goKey), '{"app_versions":{}}');
    assert.equal(opened(page, "0", c.goKey), "first");
    assert.equal(bytesToHex(page.client.sharedKey!), c.goKey);
    const verify = bytesToHex(verifier(asSharedKey(unhex(c.goKey))));
    assert.deepEqual(page.events.filter((e) => e.type === "key" || e.type === "version").map((e) => e.type), ["key", "version"]);
    for (const e of page.events) if (e.type === "key" || e.type === "version") assert.equal(bytesToHex(e.verifier), verify);
    add(unhex(c.goKey), "0", utf8("reply"));
    run(page);
    assert.deepEqual(page.of("message").map((m) => fromUtf8(m.body)), ["reply"]);
    assert.deepEqual(page.client.timeout(), { send: [], events: [] }, "the timer is moot now");
  });

  test(`case ${i}: a standard peer's version (here before our pake) keeps the standard key`, () => {
    const { page, add } = setup(c);
    add(unhex(c.key), "version", VERSION);
    add(unhex(c.key), "0", utf8("early"));
    run(page);
    assert.equal(opened(page, "version", c.key), '{"app_versions":{}}');
    assert.equal(opened(page, "0", c.key), "first");
    assert.equal(bytesToHex(page.client.sharedKey!), c.key);
    assert.deepEqual(page.of("message").map((m) => fromUtf8(m.body)), ["early"]);
    assert.deepEqual(page.of("error"), []);
  });
}

test("two waiting sides: after the timer, the standard key, payloads both ways", () => {
  const c = GO_CASES[0]!;
  const server = new FakeMailboxServer();
  const alice = peer(server, "aaaaaaaaaa", entropy(c.a));
  const bob = peer(server, PEER_SIDE, entropy(c.b));
  alice.apply(alice.client.setCode(GO_CODE));
  alice.apply(alice.client.send(utf8("to bob")));
  bob.apply(bob.client.setCode(GO_CODE));
  run(alice, bob);
  for (const p of [alice, bob]) {
    assert.equal(p.of("timer").length, 1);
    assert.equal(versionSent(p), false);
  }
  alice.apply(alice.client.timeout()); // bob's timer has not run out yet
  run(alice, bob);
  for (const p of [alice, bob]) assert.equal(bytesToHex(p.client.sharedKey!), c.key);
  assert.equal(opened(alice, "version", c.key), '{"app_versions":{}}');
  bob.apply(bob.client.send(utf8("to alice")));
  bob.apply(bob.client.timeout());
  run(alice, bob);
  assert.deepEqual(bob.of("message").map((m) => fromUtf8(m.body)), ["to bob"]);
  assert.deepEqual(alice.of("message").map((m) => fromUtf8(m.body)), ["to alice"]);
  assert.equal(bob.sent.filter((f) => f.type === "add" && f.phase === "version").length, 1);
});

test("a version under neither key is a wrong code, before or after the timer; ours is still sent", () => {
  const c = GO_CASES[1]!;
  for (const timedOut of [false, true]) {
    const { page, add } = setup(c);
    run(page);
    if (timedOut) page.apply(page.client.timeout());
    assert.equal(versionSent(page), timedOut);
    add(seeded(8)(32), "version", VERSION);
    run(page);
    assert.deepEqual(page.of("wrong-code"), [{ type: "wrong-code" }]);
    assert.equal(versionSent(page), true, "ours goes out, so the peer learns it too");
    assert.equal(page.sent.some((f) => f.type === "add" && f.phase === "0"), false);
    assert.equal(page.client.sharedKey, null);
    const close = page.sent.find((f) => f.type === "close");
    assert.equal(close?.type === "close" && close.mood, "scary");
  }
});

test("after the timer, our version is sealed: a gospake2 peer's version is a wrong code", () => {
  const c = GO_CASES[0]!;
  const { page, add } = setup(c);
  run(page);
  page.apply(page.client.timeout());
  assert.equal(opened(page, "version", c.key), '{"app_versions":{}}');
  add(unhex(c.goKey), "version", VERSION);
  run(page);
  assert.deepEqual(page.of("wrong-code"), [{ type: "wrong-code" }]);
  assert.equal(page.sent.some((f) => f.type === "add" && f.phase === "0"), false);
});
