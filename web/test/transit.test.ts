import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, fromUtf8, utf8 } from "../src/wormhole/bytes.ts";
import { asSharedKey, recordKeys, transitKey, type TransitKey } from "../src/wormhole/keys.ts";
import {
  MAX_RECORD_BODY, RecordReader, RecordSealer, openRecord, recordNonce, sealRecord,
} from "../src/wormhole/records.ts";
import {
  ExpectBytes, GO, checkAck, encodeAck, handshakeFor, newRelaySide, receiverHandshake,
  relayHandshake, senderHandshake,
} from "../src/wormhole/transit.ts";
import { kat, replay, unhex, type CaseVector } from "./kat.ts";
import { refusal } from "./refusal.ts";

const tkOf = (c: CaseVector): TransitKey => transitKey(asSharedKey(unhex(c.shared_key)), c.appid);


test("handshake KATs: sender, receiver and relay lines of every case", () => {
  for (const c of kat().cases) {
    const tk = tkOf(c);
    assert.equal(fromUtf8(senderHandshake(tk)), c.transit.sender_handshake, c.name);
    assert.equal(fromUtf8(receiverHandshake(tk)), c.transit.receiver_handshake, c.name);
    assert.equal(fromUtf8(relayHandshake(tk, c.transit.relay_side)), c.transit.relay_handshake, c.name);
    assert.equal(senderHandshake(tk).length, 87);
    assert.equal(receiverHandshake(tk).length, 89);
  }
});

test("record KATs: nonces, bodies and frames of the sender's records, and opening them", () => {
  for (const c of kat().cases) {
    const key = recordKeys(tkOf(c), "sender").seal;
    const opener = recordKeys(tkOf(c), "receiver").open;
    assert.equal(c.transit.sender_records.length, 5);
    for (const r of c.transit.sender_records) {
      const seqnum = BigInt(r.seqnum);
      const where = `${c.name} #${r.seqnum}`;
      assert.equal(bytesToHex(recordNonce(seqnum)), r.nonce, where);
      const frame = sealRecord(key, seqnum, unhex(r.plaintext));
      assert.equal(bytesToHex(frame), r.frame, where);
      assert.equal(bytesToHex(frame.subarray(4)), r.body, where);
      assert.equal(bytesToHex(openRecord(opener, seqnum, unhex(r.body))), r.plaintext, where);
    }
  }
});

test("the sealer numbers records 0, 1, 2 and the reader takes them in any chunking", () => {
  const c = kat().cases[0]!;
  const sealer = new RecordSealer(recordKeys(tkOf(c), "sender").seal);
  const vectors = c.transit.sender_records.slice(0, 3);
  const frames = vectors.map((r) => sealer.seal(unhex(r.plaintext)));
  assert.deepEqual(frames.map(bytesToHex), vectors.map((r) => r.frame));

  const stream = concatBytes(...frames);
  const reader = new RecordReader(recordKeys(tkOf(c), "receiver").open);
  const got: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 7) got.push(...reader.push(stream.subarray(i, i + 7)));
  assert.deepEqual(got.map(bytesToHex), vectors.map((r) => r.plaintext));
  assert.equal(reader.pending, 0);
});

function frames(c: CaseVector): Uint8Array[] {
  const sealer = new RecordSealer(recordKeys(tkOf(c), "sender").seal);
  return ["a", "b", "c"].map((t) => sealer.seal(utf8(t)));
}

test("a replayed or reordered record is refused, and the stream stays dead", () => {
  const c = kat().cases[1]!;
  const [f0, f1] = frames(c) as [Uint8Array, Uint8Array];
  const replayed = new RecordReader(recordKeys(tkOf(c), "receiver").open);
  assert.deepEqual(replayed.push(f0).map(fromUtf8), ["a"]);
  assert.equal(refusal(() => replayed.push(f0)), "peer:record-out-of-order");
  assert.equal(refusal(() => replayed.push(f1)), "local:stream-dead");

  const reordered = new RecordReader(recordKeys(tkOf(c), "receiver").open);
  assert.equal(refusal(() => reordered.push(concatBytes(f1, f0))), "peer:record-out-of-order");
});

test("a tampered record, or one under the wrong direction's key, is refused", () => {
  const c = kat().cases[1]!;
  const [f0] = frames(c) as [Uint8Array];
  const tampered = f0.slice();
  tampered[tampered.length - 1]! ^= 1;
  assert.equal(refusal(() => new RecordReader(recordKeys(tkOf(c), "receiver").open).push(tampered)), "peer:record-forged");
  // The sender opens with the receiver's key: its own records do not open there.
  assert.equal(refusal(() => new RecordReader(recordKeys(tkOf(c), "sender").open).push(f0)), "peer:record-forged");
});

test("impossible lengths are refused from the prefix alone", () => {
  const key = recordKeys(tkOf(kat().cases[0]!), "receiver").open;
  const prefix = (n: number) => { const p = new Uint8Array(4); new DataView(p.buffer).setUint32(0, n); return p; };
  assert.equal(refusal(() => new RecordReader(key).push(prefix(39))), "peer:record-bad-length");
  assert.equal(refusal(() => new RecordReader(key).push(prefix(MAX_RECORD_BODY + 1))), "peer:record-bad-length");
  assert.deepEqual(new RecordReader(key).push(prefix(MAX_RECORD_BODY)), []); // allowed, waits for the body
  assert.equal(refusal(() => openRecord(key, 0n, new Uint8Array(39))), "peer:record-bad-length");
  assert.equal(refusal(() => sealRecord(key, 0n, new Uint8Array(MAX_RECORD_BODY))), "local:record-too-big");
});

test("handshakes per role: the receiver waits for SENDER-HS then go", () => {
  const tk = tkOf(kat().cases[0]!);
  const sender = handshakeFor(tk, "sender");
  const receiver = handshakeFor(tk, "receiver");
  assert.deepEqual(sender.send, senderHandshake(tk));
  assert.deepEqual(sender.expect, receiver.send);
  assert.deepEqual(receiver.expect, concatBytes(senderHandshake(tk), GO));
  assert.equal(receiver.expect.length, 90);
});

test("ExpectBytes matches across chunks, hands back what follows, and refuses the first wrong byte", () => {
  const expect = new ExpectBytes(utf8("ok\n"));
  assert.equal(expect.push(utf8("o")), null);
  assert.deepEqual(expect.push(utf8("k\nREST")), utf8("REST"));
  assert.equal(refusal(() => new ExpectBytes(utf8("ok\n")).push(utf8("bad handshake\n"))), "peer:bad-handshake");
  const tk = tkOf(kat().cases[0]!);
  const wrong = tkOf(kat().cases[1]!);
  const sender = new ExpectBytes(handshakeFor(tk, "sender").expect);
  assert.equal(sender.push(receiverHandshake(tk).subarray(0, 17)), null); // "transit receiver " is shared
  assert.equal(refusal(() => sender.push(receiverHandshake(wrong).subarray(17))), "peer:bad-handshake");
});

test("relay sides are 16 hex digits, fresh per attempt", () => {
  assert.equal(newRelaySide(replay(unhex("0011223344556677"))), "0011223344556677");
  const tk = tkOf(kat().cases[0]!);
  for (const side of ["abc", "ABCDEF0123456789", "abcdef0123456789\n"]) {
    assert.equal(refusal(() => relayHandshake(tk, side)), "local:bad-relay-side");
  }
});

test("the sha256 ack: Python's bytes, checked against what was sent", () => {
  const digest = sha256(utf8("file contents"));
  const hex = bytesToHex(digest);
  assert.equal(fromUtf8(encodeAck(digest)), `{"ack": "ok", "sha256": "${hex}"}`);
  assert.deepEqual(checkAck(encodeAck(digest), digest), { hashChecked: true });
  assert.deepEqual(checkAck(utf8(`{"sha256":"${hex.toUpperCase()}","ack":"ok"}`), digest), { hashChecked: true });
  assert.deepEqual(checkAck(utf8(`{"ack":"ok"}`), digest), { hashChecked: false });
  assert.equal(refusal(() => checkAck(encodeAck(sha256(utf8("other"))), digest)), "peer:ack-bad-hash");
  assert.equal(refusal(() => checkAck(utf8(`{"ack":"no","sha256":"${hex}"}`), digest)), "peer:ack-not-ok");
  assert.equal(refusal(() => checkAck(utf8(`{"ack":"ok","sha256":5}`), digest)), "peer:ack-bad-hash");
  assert.equal(refusal(() => checkAck(utf8("ok"), digest)), "peer:ack-malformed");
  assert.equal(refusal(() => checkAck(utf8(`{"ack":"ok","pad":"${"x".repeat(2000)}"}`), digest)), "peer:ack-malformed");
});
