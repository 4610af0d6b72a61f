import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "../src/wormhole/bytes.ts";
import { open, seal, sealWithNonce, OVERHEAD } from "../src/wormhole/secretbox.ts";
import { kat, seeded, unhex } from "./kat.ts";
import { refusal } from "./refusal.ts";

test("secretbox KATs: PyNaCl's SecretBox.encrypt bytes, and they open again", () => {
  const vectors = kat().secretbox;
  assert.equal(vectors.length, 6);
  for (const v of vectors) {
    const key = unhex(v.key);
    const body = sealWithNonce(key, unhex(v.nonce), unhex(v.plaintext));
    assert.equal(bytesToHex(body), v.body);
    assert.equal(bytesToHex(open(key, unhex(v.body))), v.plaintext);
  }
});


test("a flipped bit anywhere, a short body or a wrong key is refused", () => {
  const v = kat().secretbox[3]!;
  const key = unhex(v.key);
  const body = unhex(v.body);
  for (let i = 0; i < body.length; i++) {
    const bad = body.slice();
    bad[i]! ^= 0x01;
    assert.equal(refusal(() => open(key, bad)), "peer:decrypt-failed", `byte ${i}`);
  }
  assert.equal(refusal(() => open(key, body.subarray(0, OVERHEAD - 1))), "peer:too-short");
  const otherKey = key.slice();
  otherKey[0]! ^= 0x80;
  assert.equal(refusal(() => open(otherKey, body)), "peer:decrypt-failed");
});

test("seal draws a fresh nonce each time and round-trips", () => {
  const key = seeded(1)(32);
  const random = seeded(2);
  const plaintext = new TextEncoder().encode("hello ☃");
  const a = seal(key, plaintext, random);
  const b = seal(key, plaintext, random);
  assert.notEqual(bytesToHex(a.subarray(0, 24)), bytesToHex(b.subarray(0, 24)));
  assert.deepEqual(open(key, a), plaintext);
  assert.deepEqual(open(key, b), plaintext);
  assert.equal(a.length, plaintext.length + OVERHEAD);
});

test("wrong-sized keys and nonces are the caller's mistake", () => {
  assert.equal(refusal(() => sealWithNonce(new Uint8Array(31), new Uint8Array(24), new Uint8Array())), "local:bad-key");
  assert.equal(refusal(() => sealWithNonce(new Uint8Array(32), new Uint8Array(23), new Uint8Array())), "local:bad-nonce");
});
