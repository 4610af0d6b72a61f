// The page hashes file bytes with hash-wasm (fast in browsers); it must agree
// with @noble/hashes, which the key schedule uses and the KATs pin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "../src/wormhole/bytes.ts";
import { Checksum } from "../src/page/checksum.ts";

test("Checksum equals noble's SHA-256 over the same bytes in any chunking", async () => {
  const data = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
  for (const step of [1 << 20, 16 * 1024, 63, data.length]) {
    const c = await Checksum.create();
    for (let i = 0; i < data.length; i += step) c.update(data.subarray(i, i + step));
    assert.equal(bytesToHex(c.digest()), bytesToHex(sha256(data)), `chunks of ${step}`);
  }
  const empty = await Checksum.create();
  assert.equal(bytesToHex(empty.digest()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});
