import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex, fromUtf8, utf8 } from "../src/wormhole/bytes.ts";
import { Pake, pakeBody } from "../src/wormhole/pake.ts";
import { S, Spake2Symmetric } from "../src/wormhole/spake2.ts";
import { Point, arbitraryElement } from "../src/wormhole/spake2-group.ts";
import { kat, replay, seeded, unhex } from "./kat.ts";
import { refusal } from "./refusal.ts";

test("python-spake2 KATs: messages from the given entropy, pake bodies and the shared key", () => {
  const cases = kat().cases;
  assert.equal(cases.length, 6);
  for (const c of cases) {
    // The entropy goes in as Python drew it: no byte reversal (the Rust crate needs one).
    const a = new Pake(c.code, c.appid, replay(unhex(c.entropy_a)));
    const b = new Pake(c.code, c.appid, replay(unhex(c.entropy_b)));
    assert.equal(bytesToHex(a.message), c.msg_a, c.name);
    assert.equal(bytesToHex(b.message), c.msg_b, c.name);
    assert.equal(fromUtf8(a.body), c.body_a, c.name);
    assert.equal(fromUtf8(b.body), c.body_b, c.name);
    assert.equal(bytesToHex(a.finish(utf8(c.body_b)).key), c.shared_key, c.name);
    assert.equal(bytesToHex(b.finish(utf8(c.body_a)).key), c.shared_key, c.name);
  }
});

test("the non-palindromic KAT entropy really is read big-endian", () => {
  const c = kat().cases[1]!;
  const reversed = unhex(c.entropy_a).reverse();
  const a = new Pake(c.code, c.appid, replay(reversed));
  assert.notEqual(bytesToHex(a.message), c.msg_a);
});

test("hash-to-point: S, M and N as WORMHOLE-PROTOCOL.md §2.2 gives them", () => {
  assert.equal(bytesToHex(S.toBytes()), "6f00dae87c1be1a73b5922ef431cd8f57879569c222d22b1cd71e8546ab8e6f1");
  // The digest prints M and N abbreviated; the ends still pin the derivation.
  const m = bytesToHex(arbitraryElement(utf8("M")).toBytes());
  const n = bytesToHex(arbitraryElement(utf8("N")).toBytes());
  assert.ok(m.startsWith("15cfd18e") && m.endsWith("2312"), m);
  assert.ok(n.startsWith("f04f2e7e") && n.endsWith("83c3"), n);
  for (const e of [S, arbitraryElement(utf8("M"))]) assert.ok(!e.is0() && e.isTorsionFree());
});

function pair(codeA: string, codeB: string, appidB = "lothar.com/wormhole/text-or-file-xfer", seed = 7) {
  const random = seeded(seed);
  const a = new Pake(codeA, "lothar.com/wormhole/text-or-file-xfer", random);
  const b = new Pake(codeB, appidB, random);
  return [bytesToHex(a.finish(b.body).key), bytesToHex(b.finish(a.body).key)] as const;
}

test("two sides with the same code agree; fresh entropy gives a fresh key", () => {
  const [a, b] = pair("7-guitarist-revenge", "7-guitarist-revenge");
  assert.equal(a, b);
  const [c, d] = pair("7-guitarist-revenge", "7-guitarist-revenge", undefined, 8);
  assert.equal(c, d);
  assert.notEqual(a, c);
});

test("a wrong code or another appid gives different keys", () => {
  const [a, b] = pair("7-guitarist-revenge", "7-guitarist-revenue");
  assert.notEqual(a, b);
  const [c, d] = pair("7-guitarist-revenge", "7-guitarist-revenge", "lothar.com/wormhole/ssh-add");
  assert.notEqual(c, d);
});


const c0 = () => kat().cases[0]!;
const side = (entropy: string) => new Spake2Symmetric(utf8(c0().code), utf8(c0().appid), replay(unhex(entropy)));

test("malformed pake bodies are the peer's fault", () => {
  const finish = (body: string) => refusal(() => new Pake("1-x", "a", seeded(1)).finish(utf8(body)));
  assert.equal(finish("not json"), "peer:pake-not-json");
  assert.equal(finish("[1]"), "peer:pake-not-json");
  assert.equal(finish("{}"), "peer:pake-missing");
  assert.equal(finish('{"pake_v1": 53}'), "peer:pake-missing");
  assert.equal(finish('{"pake_v1": "zz"}'), "peer:pake-bad-hex");
  assert.equal(finish('{"pake_v1": "535"}'), "peer:pake-bad-hex");
  assert.equal(finish('{"pake_v1": ""}'), "peer:pake-bad-length");
  assert.equal(refusal(() => new Pake("1-x", "a", seeded(1)).finish(Uint8Array.of(0xff, 0xfe))), "peer:pake-not-json");
});

test("extra keys and upper-case hex are accepted, as Python does", () => {
  const body = `{"x": 1, "pake_v1": "${c0().msg_b.toUpperCase()}"}`;
  const a = new Pake(c0().code, c0().appid, replay(unhex(c0().entropy_a)));
  assert.equal(bytesToHex(a.finish(utf8(body)).key), c0().shared_key);
});

test("wrong side bytes, lengths, reflection, identity and torsion are refused", () => {
  const peer = unhex(c0().msg_b);
  for (const byte of [0x41, 0x42, 0x00]) {
    const m = peer.slice();
    m[0] = byte;
    assert.equal(refusal(() => side(c0().entropy_a).finish(m)), "peer:pake-wrong-side");
  }
  assert.equal(refusal(() => side(c0().entropy_a).finish(peer.subarray(0, 32))), "peer:pake-bad-length");
  const a = side(c0().entropy_a);
  assert.equal(refusal(() => a.finish(a.message)), "peer:pake-reflected");

  const identity = new Uint8Array(33);
  identity[0] = 0x53;
  identity[1] = 1; // y = 1
  assert.equal(refusal(() => side(c0().entropy_a).finish(identity)), "peer:pake-bad-element");

  // The peer's element plus the point of order 2 (y = -1) leaves the subgroup.
  const order2 = Point.fromHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  const torsioned = Point.fromBytes(peer.subarray(1)).add(order2).toBytes();
  assert.equal(refusal(() => side(c0().entropy_a).finish(Uint8Array.of(0x53, ...torsioned))), "peer:pake-bad-element");

  // y = 2 has no x on the curve.
  const notAPoint = new Uint8Array(33);
  notAPoint[0] = 0x53;
  notAPoint[1] = 2;
  assert.equal(refusal(() => side(c0().entropy_a).finish(notAPoint)), "peer:pake-bad-element");
});

test("finish runs once, and entropy must come as 64 bytes", () => {
  const a = side(c0().entropy_a);
  a.finish(unhex(c0().msg_b));
  assert.equal(refusal(() => a.finish(unhex(c0().msg_b))), "local:finished");
  assert.equal(refusal(() => new Spake2Symmetric(utf8("1-x"), utf8(""), () => new Uint8Array(32))), "local:bad-entropy");
});

test("pakeBody writes Python's json.dumps spacing", () => {
  assert.equal(fromUtf8(pakeBody(Uint8Array.of(0x53, 0xab))), '{"pake_v1": "53ab"}');
});
