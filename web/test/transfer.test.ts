import { test } from "node:test";
import assert from "node:assert/strict";
import { fromUtf8, utf8 } from "../src/wormhole/bytes.ts";
import { WormholeError } from "../src/wormhole/errors.ts";
import { MAX_HINTS } from "../src/wormhole/hints.ts";
import {
  MAX_NAME_LEN, MAX_PEER_MESSAGE, encodePeerMessage, parsePeerMessage, type PeerMessage,
} from "../src/wormhole/transfer.ts";

const parse = (json: string) => parsePeerMessage(utf8(json));

function refusal(json: string | Uint8Array): string {
  try {
    parsePeerMessage(typeof json === "string" ? utf8(json) : json);
  } catch (e) {
    assert.ok(e instanceof WormholeError, String(e));
    assert.equal(e.fault, "peer");
    return e.code;
  }
  assert.fail(`accepted ${String(json).slice(0, 60)}`);
}

test("the messages real clients send (WORMHOLE-PROTOCOL.md §4.1) parse", () => {
  assert.deepEqual(parse('{"offer": {"message": "hi there"}}'), { type: "offer", offer: { kind: "message", text: "hi there" } });
  assert.deepEqual(parse('{"offer": {"file": {"filename": "hello.txt", "filesize": 20}}}'), {
    type: "offer", offer: { kind: "file", filename: "hello.txt", filesize: 20 },
  });
  assert.deepEqual(
    parse('{"offer": {"directory": {"mode": "zipfile/deflated", "dirname": "dir", "zipsize": 239, "numbytes": 5, "numfiles": 2}}}'),
    { type: "offer", offer: { kind: "directory", mode: "zipfile/deflated", dirname: "dir", zipsize: 239, numbytes: 5, numfiles: 2 } },
  );
  assert.deepEqual(parse('{"answer": {"message_ack": "ok"}}'), { type: "answer", answer: { kind: "message_ack", value: "ok" } });
  assert.deepEqual(parse('{"answer": {"file_ack": "ok"}}'), { type: "answer", answer: { kind: "file_ack", value: "ok" } });
  assert.deepEqual(parse('{"error": "transfer rejected"}'), { type: "error", error: "transfer rejected" });
});

test("transit hints: Python's, Go's and Rust's shapes, odd entries dropped", () => {
  const msg = parse(JSON.stringify({
    transit: {
      "abilities-v1": [{ type: "direct-tcp-v1" }, { type: "relay-v1" }, { nope: 1 }],
      "hints-v1": [
        { type: "direct-tcp-v1", priority: 0.0, hostname: "192.0.2.2", port: 43817 },
        { type: "direct-tcp-v1", hostname: "192.0.2.3", port: "43817" }, // port must be an integer
        { type: "tor-tcp-v1", hostname: "abc.onion", port: 80 },
        { type: "relay-v1", hints: [{ type: "direct-tcp-v1", priority: 2.0, hostname: "transit.example", port: 4001 }] },
        { type: "relay-v1", name: null, hints: [{ type: "websocket", url: "wss://relay.example/ws" }, { type: "websocket-v1", url: "x" }] },
        { type: "relay-v1", hints: [{ type: "unknown" }] }, // nothing usable
        { type: "something-new" },
        "garbage",
      ],
    },
  }));
  assert.equal(msg.type, "transit");
  if (msg.type !== "transit") return;
  assert.deepEqual(msg.transit.abilities, ["direct-tcp-v1", "relay-v1"]);
  assert.deepEqual(msg.transit.hints, [
    { type: "direct-tcp-v1", hostname: "192.0.2.2", port: 43817, priority: 0 },
    { type: "tor-tcp-v1", hostname: "abc.onion", port: 80, priority: 0 },
    { type: "relay-v1", hints: [{ type: "direct-tcp-v1", hostname: "transit.example", port: 4001, priority: 2 }] },
    { type: "relay-v1", hints: [{ type: "websocket", url: "wss://relay.example/ws" }] },
  ]);
  assert.deepEqual(parse('{"transit": {}}'), { type: "transit", transit: { abilities: [], hints: [] } });
});

test("what we send round-trips, compact and with one top-level key", () => {
  const messages: PeerMessage[] = [
    { type: "offer", offer: { kind: "message", text: "hello ☃" } },
    { type: "offer", offer: { kind: "file", filename: "a.bin", filesize: 2 ** 40 } },
    { type: "offer", offer: { kind: "directory", mode: "zipfile/deflated", dirname: "d", zipsize: 1, numbytes: 2, numfiles: 3 } },
    { type: "answer", answer: { kind: "file_ack", value: "ok" } },
    { type: "error", error: "transfer rejected" },
    { type: "transit", transit: { abilities: ["relay-v1"], hints: [{ type: "relay-v1", name: "r", hints: [{ type: "websocket", url: "ws://127.0.0.1:4002" }] }] } },
  ];
  for (const m of messages) {
    const bytes = encodePeerMessage(m);
    assert.equal(Object.keys(JSON.parse(fromUtf8(bytes)!)).length, 1);
    assert.deepEqual(parsePeerMessage(bytes), m);
  }
  assert.equal(fromUtf8(encodePeerMessage(messages[3]!)), '{"answer":{"file_ack":"ok"}}');
});

test("exactly one top-level key, and one kind inside offers and answers", () => {
  assert.equal(refusal("{}"), "bad-peer-message");
  assert.equal(refusal('{"offer": {"message": "a"}, "error": "b"}'), "bad-peer-message");
  assert.equal(refusal('{"offer": {"message": "a", "file": {"filename": "x", "filesize": 1}}}'), "bad-peer-message");
  assert.equal(refusal('{"answer": {}}'), "bad-peer-message");
  assert.equal(refusal('{"answer": {"maybe": "ok"}}'), "bad-peer-message");
  assert.equal(refusal('{"offer": {"tarball": {}}}'), "unknown-offer");
  assert.equal(refusal('{"transit-v2": {}}'), "unknown-message");
  assert.equal(refusal("[1]"), "bad-peer-message");
  assert.equal(refusal('"offer"'), "bad-peer-message");
});

test("malformed, oversized and out-of-range messages are refused", () => {
  assert.equal(refusal("{not json"), "bad-peer-message");
  assert.equal(refusal(Uint8Array.of(0x7b, 0xff, 0x7d)), "bad-peer-message");
  assert.equal(refusal(`{"offer": {"message": "${"x".repeat(MAX_PEER_MESSAGE)}"}}`), "bad-peer-message");
  const file = (filename: unknown, filesize: unknown) => JSON.stringify({ offer: { file: { filename, filesize } } });
  for (const bad of [-1, 1.5, "20", null, 2 ** 53, 1e300]) assert.equal(refusal(file("a", bad)), "bad-peer-message", String(bad));
  for (const bad of ["", "x".repeat(MAX_NAME_LEN + 1), 7]) assert.equal(refusal(file(bad, 1)), "bad-peer-message");
  assert.equal(refusal('{"offer": {"file": "a.txt"}}'), "bad-peer-message");
  assert.equal(refusal('{"offer": {"message": 5}}'), "bad-peer-message");
  assert.equal(refusal('{"error": {"why": 1}}'), "bad-peer-message");
  assert.equal(refusal('{"transit": []}'), "bad-transit");
  assert.equal(refusal('{"transit": {"hints-v1": {}}}'), "bad-transit");
  const many = Array.from({ length: MAX_HINTS + 1 }, () => ({ type: "direct-tcp-v1", hostname: "h", port: 1 }));
  assert.equal(refusal(JSON.stringify({ transit: { "hints-v1": many } })), "bad-transit");
});
