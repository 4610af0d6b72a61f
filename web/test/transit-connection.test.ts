import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, fromUtf8, utf8 } from "../src/wormhole/bytes.ts";
import { asSharedKey, transitKey, type TransitKey } from "../src/wormhole/keys.ts";
import { TransitConnection, type TransitEvent, type TransitStep } from "../src/wormhole/transit-connection.ts";
import { RELAY_OK, checkAck, encodeAck } from "../src/wormhole/transit.ts";
import { kat, unhex, type CaseVector } from "./kat.ts";
import { refusal } from "./refusal.ts";

const tkOf = (c: CaseVector): TransitKey => transitKey(asSharedKey(unhex(c.shared_key)), c.appid);

/** One end: what it wrote so far and what it was told. */
class End {
  written: Uint8Array[] = [];
  events: TransitEvent[] = [];
  constructor(readonly conn: TransitConnection) {}
  take(step: TransitStep): void {
    this.written.push(...step.send);
    this.events.push(...step.events);
  }
  /** Everything written since the last flush, as one byte string. */
  flush(): Uint8Array {
    const out = concatBytes(...this.written);
    this.written = [];
    return out;
  }
  /** Feeds bytes in chunks of `size`. */
  feed(bytes: Uint8Array, size = 5): void {
    for (let i = 0; i < bytes.length; i += size) this.take(this.conn.receive(bytes.subarray(i, i + size)));
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
}


function connectDirect(c: CaseVector) {
  const sender = new End(new TransitConnection(tkOf(c), "sender"));
  const receiver = new End(new TransitConnection(tkOf(c), "receiver"));
  sender.take(sender.conn.start());
  receiver.take(receiver.conn.start());
  return { sender, receiver };
}

test("direct: both write their KAT handshake at once; go from the sender opens the records", () => {
  const c = kat().cases[1]!;
  const { sender, receiver } = connectDirect(c);
  const senderHs = sender.flush();
  const receiverHs = receiver.flush();
  assert.equal(fromUtf8(senderHs), c.transit.sender_handshake);
  assert.equal(fromUtf8(receiverHs), c.transit.receiver_handshake);

  receiver.feed(senderHs);
  assert.deepEqual(receiver.types(), [], "the receiver waits for go");
  sender.feed(receiverHs, 1);
  assert.deepEqual(sender.types(), ["handshake-done"]);
  sender.take(sender.conn.decide(true));
  assert.deepEqual(sender.types(), ["handshake-done", "connected"]);
  receiver.feed(sender.flush());
  assert.deepEqual(receiver.types(), ["connected"]);

  const data = utf8("x".repeat(40000));
  const frames = [data.subarray(0, 16384), data.subarray(16384, 32768), data.subarray(32768)].map((p) => sender.conn.seal(p));
  receiver.feed(concatBytes(...frames), 1000);
  const got = concatBytes(...receiver.events.flatMap((e) => (e.type === "record" ? [e.plaintext] : [])));
  assert.deepEqual(got, data);

  sender.feed(receiver.conn.seal(encodeAck(sha256(got))));
  const ack = sender.events.at(-1);
  assert.equal(ack?.type, "record");
  if (ack?.type === "record") assert.deepEqual(checkAck(ack.plaintext, sha256(data)), { hashChecked: true });
});

test("the sender's first record is byte for byte the KAT's record #0", () => {
  const c = kat().cases[0]!;
  const { sender, receiver } = connectDirect(c);
  sender.feed(receiver.flush());
  sender.take(sender.conn.decide(true));
  const r0 = c.transit.sender_records[0]!;
  assert.deepEqual(sender.conn.seal(unhex(r0.plaintext)), unhex(r0.frame));
});

test("through a relay: the KAT relay line, then ok, then the handshakes", () => {
  const c = kat().cases[0]!;
  const side = c.transit.relay_side;
  const sender = new End(new TransitConnection(tkOf(c), "sender", side));
  const receiver = new End(new TransitConnection(tkOf(c), "receiver", "0123456789abcdef"));
  sender.take(sender.conn.start());
  receiver.take(receiver.conn.start());
  assert.equal(fromUtf8(sender.flush()), c.transit.relay_handshake);
  receiver.flush();
  // The relay pairs them and says ok; each then writes its handshake.
  sender.feed(RELAY_OK, 1);
  receiver.feed(RELAY_OK);
  const senderHs = sender.flush();
  assert.equal(fromUtf8(senderHs), c.transit.sender_handshake);
  receiver.feed(senderHs);
  sender.feed(receiver.flush());
  sender.take(sender.conn.decide(true));
  receiver.feed(sender.flush());
  assert.deepEqual(receiver.types(), ["connected"]);
});

test("a relay refusal, a wrong key, nevermind and an impatient receiver are refused", () => {
  const c = kat().cases[0]!;
  const viaRelay = new TransitConnection(tkOf(c), "sender", "abcdef0123456789");
  viaRelay.start();
  assert.equal(refusal(() => viaRelay.receive(utf8("bad handshake\n"))), "peer:bad-handshake");

  const wrongKey = new TransitConnection(tkOf(kat().cases[1]!), "receiver");
  wrongKey.start();
  assert.equal(refusal(() => wrongKey.receive(utf8(c.transit.sender_handshake))), "peer:bad-handshake");

  const { sender, receiver } = connectDirect(c);
  receiver.feed(sender.flush());
  sender.feed(receiver.flush());
  const nevermind = sender.conn.decide(false);
  assert.deepEqual(nevermind.send.map(fromUtf8), ["nevermind\n"]);
  assert.equal(refusal(() => receiver.conn.receive(concatBytes(...nevermind.send))), "peer:bad-handshake");

  const eager = connectDirect(c);
  eager.sender.feed(eager.receiver.flush());
  assert.equal(refusal(() => eager.sender.conn.receive(utf8("data"))), "peer:impatient");
});

test("calls out of turn are the caller's mistake", () => {
  const c = kat().cases[0]!;
  const { sender, receiver } = connectDirect(c);
  assert.equal(refusal(() => receiver.conn.decide(true)), "local:not-sender");
  assert.equal(refusal(() => sender.conn.decide(true)), "local:transit-state");
  assert.equal(refusal(() => sender.conn.seal(utf8("early"))), "local:transit-state");
  assert.equal(refusal(() => sender.conn.start()), "local:transit-state");
});
