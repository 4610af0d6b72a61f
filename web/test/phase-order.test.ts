import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_HELD_PHASES, PhaseOrder, phaseNumber } from "../src/wormhole/phase-order.ts";

test("only canonical decimal phase names are numbered", () => {
  assert.deepEqual(["0", "1", "17", "999999999999999"].map(phaseNumber), [0, 1, 17, 999999999999999]);
  for (const other of ["version", "pake", "dilate-0", "01", "-1", "1.0", " 1", "", "1e3", "9999999999999999"]) {
    assert.equal(phaseNumber(other), null, JSON.stringify(other));
  }
});

test("phases come out in order, once, however they arrive", () => {
  const order = new PhaseOrder();
  const b = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(order.accept(2, b("c")), []);
  assert.deepEqual(order.accept(1, b("b")), []);
  assert.deepEqual(order.accept(0, b("a")).map(([n]) => n), [0, 1, 2]);
  assert.deepEqual(order.accept(1, b("again")), []);
  assert.ok(order.seen(2) && !order.seen(3));
});

test("a gap holds back a bounded number of phases", () => {
  const order = new PhaseOrder();
  for (let n = 1; n <= MAX_HELD_PHASES; n++) assert.deepEqual(order.accept(n, new Uint8Array()), []);
  assert.throws(() => order.accept(MAX_HELD_PHASES + 1, new Uint8Array()), /skipped a phase/);
  assert.equal(order.accept(0, new Uint8Array()).length, MAX_HELD_PHASES + 1);
});
