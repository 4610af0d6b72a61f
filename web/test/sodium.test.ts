// The transit worker's record cipher (libsodium's WebAssembly secretbox) must
// seal and open exactly the bytes noble does: the KAT records pin both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { bytesToHex, concatBytes } from "../src/wormhole/bytes.ts";
import { asSharedKey, recordKeys, transitKey } from "../src/wormhole/keys.ts";
import { FRAME_OVERHEAD, RecordReader, RecordSealer, sealRecordInto } from "../src/wormhole/records.ts";
import { sodiumReady, sodiumRecordCipher } from "../src/transit/sodium.ts";
import { kat, unhex } from "./kat.ts";
import { refusal } from "./refusal.ts";

test("libsodium's record cipher seals and opens the KAT records", async () => {
  await sodiumReady;
  for (const c of kat().cases) {
    const tk = transitKey(asSharedKey(unhex(c.shared_key)), c.appid);
    const keys = recordKeys(tk, "sender");
    const cipher = sodiumRecordCipher();
    for (const r of c.transit.sender_records) {
      const plaintext = unhex(r.plaintext);
      const out = new Uint8Array(plaintext.length + FRAME_OVERHEAD);
      sealRecordInto(keys.seal, BigInt(r.seqnum), plaintext, out, 0, cipher);
      assert.equal(bytesToHex(out), r.frame, `${c.name} #${r.seqnum}`);
      assert.equal(bytesToHex(cipher.open(keys.seal, unhex(r.body))), r.plaintext, `${c.name} #${r.seqnum}`);
    }
  }
});

test("noble and libsodium readers agree on a stream in any chunking, and both refuse a forgery", async () => {
  await sodiumReady;
  const key = new Uint8Array(randomBytes(32));
  const sealer = new RecordSealer(key);
  const plaintexts = [0, 1, 16, 65_536, 1000].map((n) => new Uint8Array(randomBytes(n)));
  const stream = concatBytes(...plaintexts.map((p) => sealer.seal(p)));
  for (const step of [5, 4096, stream.length]) {
    const reader = new RecordReader(key, sodiumRecordCipher());
    const got: string[] = [];
    for (let i = 0; i < stream.length; i += step) reader.pushEach(stream.subarray(i, i + step), (p) => got.push(bytesToHex(p)));
    assert.deepEqual(got, plaintexts.map(bytesToHex), `chunks of ${step}`);
  }
  const forged = stream.slice();
  forged[forged.length - 1]! ^= 1;
  assert.equal(refusal(() => new RecordReader(key, sodiumRecordCipher()).push(forged)), "peer:record-forged");
});
