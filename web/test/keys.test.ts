import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex, utf8 } from "../src/wormhole/bytes.ts";
import {
  asSharedKey, decryptPhase, deriveKey, encryptPhase, hkdfSha256, phaseKey,
  recordKeys, transitKey, transitSubkey, verifier, type TransitPurpose,
} from "../src/wormhole/keys.ts";
import { WormholeError } from "../src/wormhole/errors.ts";
import { kat, replay, unhex } from "./kat.ts";

test("HKDF KATs, up to the 8160-byte RFC limit", () => {
  for (const v of kat().hkdf) {
    assert.equal(bytesToHex(hkdfSha256(unhex(v.ikm), unhex(v.info), v.len)), v.okm, `len ${v.len}`);
  }
  assert.throws(() => hkdfSha256(new Uint8Array(32), new Uint8Array(), 8161), WormholeError);
});

test("verifier and every derive_key purpose of every case", () => {
  for (const c of kat().cases) {
    const key = asSharedKey(unhex(c.shared_key));
    assert.equal(bytesToHex(verifier(key)), c.verifier, c.name);
    assert.equal(c.derive.length, 5);
    for (const d of c.derive) {
      assert.equal(bytesToHex(deriveKey(key, unhex(d.purpose), d.len)), d.okm, `${c.name} ${d.purpose}/${d.len}`);
    }
    // String purposes are their UTF-8 bytes.
    assert.equal(bytesToHex(deriveKey(key, "wormhole:verifier")), c.verifier);
  }
});

test("phase keys, sealing with the KAT nonce, and opening, for both sides", () => {
  for (const c of kat().cases) {
    const key = asSharedKey(unhex(c.shared_key));
    assert.equal(c.phases.length, 10);
    for (const p of c.phases) {
      const where = `${c.name} ${p.side}/${p.phase}`;
      assert.equal(bytesToHex(phaseKey(key, p.side, p.phase)), p.phase_key, where);
      const body = encryptPhase(key, p.side, p.phase, unhex(p.plaintext), replay(unhex(p.nonce)));
      assert.equal(bytesToHex(body), p.body, where);
      assert.equal(bytesToHex(decryptPhase(key, p.side, p.phase, unhex(p.body))), p.plaintext, where);
    }
  }
});

test("a body opens only under its own side and phase", () => {
  const c = kat().cases[1]!;
  const key = asSharedKey(unhex(c.shared_key));
  const [mine, theirs] = [c.phases[0]!, c.phases[5]!];
  assert.notEqual(mine.side, theirs.side);
  const body = unhex(mine.body);
  assert.throws(() => decryptPhase(key, theirs.side, mine.phase, body), /failed authentication/);
  assert.throws(() => decryptPhase(key, mine.side, "0", body), /failed authentication/);
  const otherKey = asSharedKey(unhex(kat().cases[0]!.shared_key));
  assert.throws(() => decryptPhase(otherKey, mine.side, mine.phase, body), /failed authentication/);
});

test("transit key and all five subkeys of every case (the case's own appid)", () => {
  for (const c of kat().cases) {
    const tk = transitKey(asSharedKey(unhex(c.shared_key)), c.appid);
    assert.equal(bytesToHex(tk), c.transit.transit_key, c.name);
    const subkeys = Object.entries(c.transit.subkeys);
    assert.equal(subkeys.length, 5);
    for (const [purpose, hex] of subkeys) {
      assert.equal(bytesToHex(transitSubkey(tk, purpose as TransitPurpose)), hex, `${c.name} ${purpose}`);
    }
    const sender = recordKeys(tk, "sender");
    const receiver = recordKeys(tk, "receiver");
    assert.equal(bytesToHex(sender.seal), c.transit.subkeys["transit_record_sender_key"]);
    assert.equal(bytesToHex(sender.open), c.transit.subkeys["transit_record_receiver_key"]);
    assert.deepEqual(receiver.open, sender.seal);
    assert.deepEqual(receiver.seal, sender.open);
  }
});

test("the transit key depends on the appid (Python's bug #339 matters)", () => {
  const c = kat().cases[2]!; // the ssh-add appid
  const key = asSharedKey(unhex(c.shared_key));
  assert.notEqual(bytesToHex(transitKey(key, "lothar.com/wormhole/text-or-file-xfer")), c.transit.transit_key);
  assert.equal(bytesToHex(transitKey(key, c.appid)), c.transit.transit_key);
});

test("shared keys must be 32 bytes", () => {
  assert.throws(() => asSharedKey(utf8("short")), /32 bytes/);
});
