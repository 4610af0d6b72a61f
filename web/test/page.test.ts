import { test } from "node:test";
import assert from "node:assert/strict";
import { ourTransitHints, parseTcpAddress } from "../src/page/hints.ts";
import { formatProgress } from "../src/page/progress.ts";
import { parseTransitHints, transitHintsJson } from "../src/wormhole/index.ts";

// The page's pure helpers; the flows themselves are tested in a real browser (test/browser/).
test("the relay's tcp: address becomes a relay hint the CLI clients parse", () => {
  assert.deepEqual(parseTcpAddress("tcp:127.0.0.1:4001"), { type: "direct-tcp-v1", hostname: "127.0.0.1", port: 4001, priority: 0 });
  assert.equal(parseTcpAddress("tcp:[::1]:4001")?.hostname, "::1");
  assert.equal(parseTcpAddress("tcp:host:0"), null);
  assert.equal(parseTcpAddress("ws://host:1/"), null);
  const json = transitHintsJson(ourTransitHints("tcp:relay.example:4001"));
  assert.deepEqual(parseTransitHints(JSON.parse(JSON.stringify(json))).hints, [
    { type: "relay-v1", hints: [{ type: "direct-tcp-v1", hostname: "relay.example", port: 4001, priority: 0 }] },
  ]);
  assert.deepEqual(ourTransitHints(null).hints, []);
});

test("progress shows bytes, speed and time left", () => {
  assert.equal(formatProgress(50_000_000, 100_000_000, 1000), "50.0 MB of 100.0 MB, 50.0 MB/s, 1 s left");
  assert.equal(formatProgress(0, 10, 0), "0 B of 10 B, 0 B/s");
});
