// The allocation-free record paths the transit worker uses must produce and
// accept exactly the bytes of the plain ones (which the KATs pin).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { bytesToHex, concatBytes } from "../src/wormhole/bytes.ts";
import { FRAME_OVERHEAD, RecordReader, RecordSealer, sealRecord, sealRecordInto } from "../src/wormhole/records.ts";
import { refusal } from "./refusal.ts";

const key = new Uint8Array(randomBytes(32));
const sizes = [0, 1, 15, 16, 17, 1000, 16 * 1024, 64 * 1024 + 3];

test("sealRecordInto writes the frame sealRecord returns, at any offset, touching nothing else", () => {
  sizes.forEach((n, i) => {
    const plaintext = new Uint8Array(randomBytes(n));
    const out = new Uint8Array(7 + n + FRAME_OVERHEAD + 5).fill(0xee);
    const len = sealRecordInto(key, BigInt(i), plaintext, out, 7);
    assert.equal(len, n + FRAME_OVERHEAD);
    assert.equal(bytesToHex(out.subarray(7, 7 + len)), bytesToHex(sealRecord(key, BigInt(i), plaintext)), `size ${n}`);
    assert.ok(out.subarray(0, 7).every((b) => b === 0xee) && out.subarray(7 + len).every((b) => b === 0xee), "outside the frame");
  });
});

test("frames sealed back to back into one buffer are read by pushEach in any chunking", () => {
  const plaintexts = sizes.map((n) => new Uint8Array(randomBytes(n)));
  const sealer = new RecordSealer(key);
  const buf = new Uint8Array(plaintexts.reduce((a, p) => a + p.length + FRAME_OVERHEAD, 0));
  let filled = 0;
  for (const p of plaintexts) filled += sealer.sealInto(p, buf, filled);
  assert.equal(filled, buf.length);
  for (const step of [1, 13, 4096, 70_000, buf.length]) {
    const reader = new RecordReader(key);
    const got: string[] = [];
    for (let i = 0; i < buf.length; i += step) reader.pushEach(buf.subarray(i, i + step), (p) => got.push(bytesToHex(p)));
    assert.deepEqual(got, plaintexts.map(bytesToHex), `chunks of ${step}`);
    assert.equal(reader.pending, 0);
  }
});

test("a reader keeps refusing after a forged record, and never hands it out", () => {
  const sealer = new RecordSealer(key);
  const frames = [sealer.seal(new Uint8Array(10)), sealer.seal(new Uint8Array(10))];
  const forged = concatBytes(frames[0]!, frames[1]!);
  forged[forged.length - 1]! ^= 1;
  const reader = new RecordReader(key);
  const got: Uint8Array[] = [];
  assert.equal(refusal(() => reader.pushEach(forged, (p) => got.push(p.slice()))), "peer:record-forged");
  assert.equal(got.length, 1, "the good record before it came out");
  assert.equal(refusal(() => reader.pushEach(frames[0]!, () => {})), "local:stream-dead");
});
