import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, compareBytes, concatBytes, utf8 } from "../src/wormhole/bytes.ts";
import { Pake } from "../src/wormhole/pake.ts";
import { Spake2Symmetric, gospake2Key, transcriptKey } from "../src/wormhole/spake2.ts";
import { GO_APPID, GO_CASES, GO_CODE, entropyOf } from "./gospake2-vectors.ts";
import { kat, replay, seeded, unhex } from "./kat.ts";

const side = (b: number) => new Spake2Symmetric(utf8(GO_CODE), utf8(GO_APPID), replay(entropyOf(b)));

test("K ending in 0x00: finish gives the standard key and gospake2's, on both sides", () => {
  for (const c of GO_CASES) {
    const [a, b] = [side(c.a), side(c.b)];
    assert.equal(bytesToHex(a.message), c.msgA);
    assert.equal(bytesToHex(b.message), c.msgB);
    for (const keys of [a.finish(b.message), b.finish(a.message)]) {
      assert.equal(bytesToHex(keys.key), c.key);
      assert.equal(bytesToHex(keys.goKey!), c.goKey);
    }
  }
});

test("the vectors' transcripts from K directly: n = 32 is standard, n = 31 gospake2's", () => {
  for (const c of GO_CASES) {
    const [u, v, k] = [unhex(c.msgA).subarray(1), unhex(c.msgB).subarray(1), unhex(c.k)];
    const [pw, id] = [utf8(GO_CODE), utf8(GO_APPID)];
    assert.equal(bytesToHex(transcriptKey(pw, id, v, u, k)), c.key);
    assert.equal(bytesToHex(transcriptKey(pw, id, u, v, k, c.n)), c.goKey);
    assert.equal(bytesToHex(gospake2Key(pw, id, v, u, k)!), c.goKey);
  }
});

test("K not ending in 0x00 (the KAT cases): no gospake2 key", () => {
  for (const c of kat().cases) {
    const a = new Pake(c.code, c.appid, replay(unhex(c.entropy_a)));
    const keys = a.finish(utf8(c.body_b));
    assert.equal(bytesToHex(keys.key), c.shared_key, c.name);
    assert.equal(keys.goKey, null, c.name);
  }
});

test("K ending in two zero bytes: every field cut to 30 bytes", () => {
  const random = seeded(5);
  const [pw, id, u, v] = [utf8("1-x"), utf8("app"), random(32), random(32)];
  const k = concatBytes(random(30), new Uint8Array(2));
  k[29] = 1;
  const [lo, hi] = compareBytes(u, v) < 0 ? [u, v] : [v, u];
  const expected = sha256(concatBytes(sha256(pw), sha256(id), lo.subarray(0, 30), hi.subarray(0, 30), k.subarray(0, 30)));
  assert.equal(bytesToHex(gospake2Key(pw, id, u, v, k)!), bytesToHex(expected));
  assert.notEqual(bytesToHex(expected), bytesToHex(transcriptKey(pw, id, u, v, k)));
  k[31] = 7;
  assert.equal(gospake2Key(pw, id, u, v, k), null);
});
