import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex, fromUtf8, utf8 } from "../src/wormhole/bytes.ts";
import { asSharedKey, decryptPhase, encryptPhase } from "../src/wormhole/keys.ts";
import { MailboxClient, type MailboxEvent, type Step } from "../src/wormhole/mailbox.ts";
import type { ClientMessage } from "../src/wormhole/mailbox-wire.ts";
import { FakeMailboxServer } from "./fake-mailbox.ts";
import { kat, seeded, unhex } from "./kat.ts";
import { APPID, peer, run } from "./mailbox-peers.ts";

test("happy path: allocate, claim, PAKE, version, payloads both ways in order, close", () => {
  const server = new FakeMailboxServer();
  const alice = peer(server, "aaaaaaaaaa", 1);
  const bob = peer(server, "bbbbbbbbbb", 2);
  alice.apply(alice.client.allocateCode(2));
  alice.apply(alice.client.send(utf8("first"))); // held until the key is confirmed
  run(alice, bob);
  const [allocated] = alice.of("code");
  assert.ok(allocated);
  assert.match(allocated.code.code, /^1-[a-z]+-[a-z]+$/);
  assert.equal(alice.sent.some((f) => f.type === "add" && f.phase === "0"), false, "nothing sealed before confirmation");

  bob.apply(bob.client.setCode(allocated.code.code));
  run(alice, bob);
  for (const p of [alice, bob]) {
    assert.deepEqual(p.of("welcome"), [{ type: "welcome", motd: "hello from test" }]);
    assert.equal(p.of("key").length, 1);
    assert.equal(p.of("version").length, 1);
  }
  assert.equal(bytesToHex(alice.of("version")[0]!.verifier), bytesToHex(bob.of("version")[0]!.verifier));
  assert.deepEqual(bob.of("version")[0]!.versions, { app_versions: {} });
  assert.deepEqual(alice.client.sharedKey, bob.client.sharedKey);

  alice.apply(alice.client.send(utf8("second")));
  bob.apply(bob.client.send(utf8("reply")));
  run(alice, bob);
  assert.deepEqual(bob.of("message").map((m) => [m.phase, fromUtf8(m.body)]), [[0, "first"], [1, "second"]]);
  assert.deepEqual(alice.of("message").map((m) => [m.phase, fromUtf8(m.body)]), [[0, "reply"]]);

  for (const p of [alice, bob]) p.apply(p.client.close("happy"));
  run(alice, bob);
  for (const p of [alice, bob]) {
    assert.deepEqual(p.of("closed"), [{ type: "closed", mood: "happy" }]);
    assert.deepEqual(p.of("error"), []);
  }
});

test("the order real clients use: bind, claim, open+pake, release on the peer's first message, version", () => {
  const server = new FakeMailboxServer();
  const alice = peer(server, "aaaaaaaaaa", 1);
  const bob = peer(server, "bbbbbbbbbb", 2);
  alice.apply(alice.client.setCode("7-guitarist-revenge"));
  bob.apply(bob.client.setCode("7-guitarist-revenge"));
  run(alice, bob);
  const kinds = alice.sent.map((f) => (f.type === "add" ? `add:${f.phase}` : f.type));
  assert.deepEqual(kinds, ["bind", "claim", "open", "add:pake", "release", "add:version"]);
  assert.deepEqual(alice.sent[0], { type: "bind", appid: APPID, side: "aaaaaaaaaa", client_version: ["ferry-web", "test"] });
  assert.deepEqual(alice.sent[4], { type: "release", nameplate: "7" });
});

test("wrong code: both sides learn it, send no payload, and close scary", () => {
  const server = new FakeMailboxServer();
  const alice = peer(server, "aaaaaaaaaa", 1);
  const bob = peer(server, "bbbbbbbbbb", 2);
  alice.apply(alice.client.setCode("7-guitarist-revenge"));
  alice.apply(alice.client.send(utf8("secret")));
  bob.apply(bob.client.setCode("7-guitarist-revenue"));
  run(alice, bob);
  for (const p of [alice, bob]) {
    assert.deepEqual(p.of("wrong-code"), [{ type: "wrong-code" }]);
    assert.equal(p.of("version").length, 0);
    assert.deepEqual(p.of("closed"), [{ type: "closed", mood: "scary" }]);
    assert.equal(p.client.sharedKey, null);
    const close = p.sent.find((f) => f.type === "close");
    assert.deepEqual(close, { type: "close", mailbox: "mb1", mood: "scary" });
  }
  assert.equal(alice.sent.some((f) => f.type === "add" && f.phase === "0"), false);
});

test("a third side is ignored by the two, and gets crowded from the server", () => {
  const server = new FakeMailboxServer();
  const [a, b, c] = [peer(server, "aaaaaaaaaa", 1), peer(server, "bbbbbbbbbb", 2), peer(server, "cccccccccc", 3)];
  for (const p of [a, b]) p.apply(p.client.setCode("5-x-y"));
  run(a, b);
  c.apply(c.client.setCode("5-x-y"));
  run(a, b, c);
  assert.equal(c.of("error")[0]?.error.code, "server-error");
  assert.match(c.of("error")[0]!.error.message, /crowded/);
  assert.deepEqual(c.of("closed"), [{ type: "closed", mood: "errory" }]);
  for (const p of [a, b]) assert.equal(p.of("error").length, 0);
});

/** A client that has claimed mailbox "mb" with a KAT case's code and entropy, and the peer's pake. */
function katClient() {
  const c = kat().cases[0]!;
  const mySide = c.phases[0]!.side;
  const peerSide = c.phases[5]!.side;
  const random = (n: number) => (n === 64 ? unhex(c.entropy_a) : seeded(9)(n));
  const client = new MailboxClient({ appid: c.appid, side: mySide, random });
  client.start();
  client.setCode(c.code);
  client.handle({ type: "claimed", mailbox: "mb" });
  const pake = { type: "message", side: peerSide, phase: "pake", body: bytesToHex(utf8(c.body_b)) };
  const vectors = c.phases.filter((p) => p.side === peerSide);
  const msg = (phase: string) => ({ type: "message", side: peerSide, phase, body: vectors.find((v) => v.phase === phase)!.body });
  return { c, client, mySide, peerSide, pake, vectors, msg };
}

test("KAT: the machine reaches the case's key and seals our version under our own side", () => {
  const { c, client, mySide, pake } = katClient();
  const step = client.handle(pake);
  assert.deepEqual(step.send.map((f) => f.type), ["release", "add"]);
  assert.deepEqual(step.events.map((e) => e.type), ["key"]);
  const add = step.send[1] as ClientMessage & { type: "add" };
  assert.equal(add.phase, "version");
  const key = asSharedKey(unhex(c.shared_key));
  assert.equal(fromUtf8(decryptPhase(key, mySide, "version", unhex(add.body))), '{"app_versions":{}}');
  const keyEvent = step.events[0] as MailboxEvent & { type: "key" };
  assert.equal(bytesToHex(keyEvent.verifier), c.verifier);
});

test("KAT phases through the machine: held until version, then in phase order, once each", () => {
  const { client, pake, vectors, msg } = katClient();
  client.handle(pake);
  const events: MailboxEvent[] = [];
  for (const frame of [msg("1"), msg("0"), msg("version"), msg("0"), msg("dilate-0"), msg("17")]) {
    events.push(...client.handle(frame).events);
  }
  assert.deepEqual(events.map((e) => e.type), ["version", "message", "message"]);
  const delivered = events.flatMap((e) => (e.type === "message" ? [[e.phase, bytesToHex(e.body)]] : []));
  const plaintext = (phase: string) => vectors.find((v) => v.phase === phase)!.plaintext;
  assert.deepEqual(delivered, [[0, plaintext("0")], [1, plaintext("1")]]);
  assert.deepEqual((events[0] as MailboxEvent & { type: "version" }).versions, { app_versions: {} });
});

test("messages before the pake wait for it; our own echoes and repeated pakes are ignored", () => {
  const { client, pake, msg, mySide } = katClient();
  const early = client.handle(msg("version"));
  assert.deepEqual(early.events, []);
  assert.deepEqual(client.handle({ type: "message", side: mySide, phase: "0", body: "00" }).events, []);
  const step = client.handle(pake);
  assert.deepEqual(step.events.map((e) => e.type), ["key", "version"]);
  assert.deepEqual(client.handle(pake), { send: [], events: [] });
});

function closedWith(step: Step): string | undefined {
  const close = step.send.find((f) => f.type === "close");
  return close?.type === "close" ? close.mood : undefined;
}

test("a tampered payload after confirmation is the peer's fault and closes scary", () => {
  const { client, pake, msg, c, peerSide } = katClient();
  client.handle(pake);
  client.handle(msg("version"));
  const forged = encryptPhase(asSharedKey(unhex(c.shared_key)), peerSide, "1", utf8("x"), seeded(4));
  const step = client.handle({ type: "message", side: peerSide, phase: "0", body: bytesToHex(forged) });
  const error = step.events.find((e) => e.type === "error");
  assert.equal(error?.type === "error" && `${error.error.fault}:${error.error.code}`, "peer:bad-message");
  assert.equal(closedWith(step), "scary");
  assert.deepEqual(client.handle({ type: "closed" }).events, [{ type: "closed", mood: "scary" }]);
  assert.deepEqual(client.handle(msg("1")), { send: [], events: [] }, "nothing after closed");
});

test("a bad pake body, an oversized message or a flood before the key closes scary", () => {
  const bad = katClient();
  const step = bad.client.handle({ ...bad.pake, body: bytesToHex(utf8('{"pake_v1": "53"}')) });
  assert.equal(step.events[0]?.type === "error" && step.events[0].error.code, "pake-bad-length");
  assert.equal(closedWith(step), "scary");

  const big = katClient();
  big.client.handle(big.pake);
  const huge = big.client.handle({ type: "message", side: big.peerSide, phase: "version", body: "00".repeat(2 * 1024 * 1024) });
  assert.equal(huge.events[0]?.type === "error" && huge.events[0].error.code, "too-big");

  const flood = katClient();
  let last: Step = { send: [], events: [] };
  for (let i = 0; i <= 32; i++) last = flood.client.handle({ type: "message", side: flood.peerSide, phase: String(i), body: "00" });
  assert.equal(last.events[0]?.type === "error" && last.events[0].error.code, "too-early");
});

test("server trouble: welcome error closes unwelcome, error frames and malformed frames errory", () => {
  const fresh = () => {
    const client = new MailboxClient({ appid: APPID, side: "aaaaaaaaaa", random: seeded(1) });
    client.start();
    return client;
  };
  const unwelcome = fresh().handle({ type: "welcome", welcome: { error: "go away" } });
  assert.equal(unwelcome.events[0]?.type === "error" && unwelcome.events[0].error.fault, "server");
  assert.deepEqual(unwelcome.events[1], { type: "closed", mood: "unwelcome" });

  const claimed = fresh();
  claimed.setCode("3-a-b");
  claimed.handle({ type: "claimed", mailbox: "mb" });
  const errored = claimed.handle({ type: "error", error: "crowded", orig: {} });
  assert.equal(closedWith(errored), "errory");
  assert.deepEqual(errored.send.map((f) => f.type), ["release", "close"]);

  for (const frame of [null, [], { no: "type" }, { type: "claimed", mailbox: 5 }, { type: "welcome" }]) {
    const step = fresh().handle(frame);
    assert.equal(step.events[0]?.type === "error" && `${step.events[0].error.fault}:${step.events[0].error.code}`, "server:bad-frame", JSON.stringify(frame));
  }
  const quiet = fresh();
  assert.deepEqual(quiet.handle({ type: "future-thing", x: 1 }), { send: [], events: [] });
  assert.deepEqual(quiet.handle({ type: "allocated", nameplate: "4" }), { send: [], events: [] }, "unasked allocation ignored");
});

test("close before a mailbox is claimed ends at once; a code can be set only once", () => {
  const client = new MailboxClient({ appid: APPID, side: "aaaaaaaaaa", random: seeded(1) });
  client.start();
  client.setCode("3-a-b");
  assert.throws(() => client.setCode("4-a-b"), /already has a code/);
  assert.throws(() => client.allocateCode(), /already has a code/);
  const step = client.close("lonely");
  assert.deepEqual(step.send, [{ type: "release", nameplate: "3" }]);
  assert.deepEqual(step.events, [{ type: "closed", mood: "lonely" }]);
  assert.throws(() => client.send(utf8("late")), /closing/);
});
