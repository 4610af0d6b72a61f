import assert from "node:assert/strict";
import { WormholeError } from "../src/wormhole/errors.ts";

/** Runs `fn`, which must throw a WormholeError; returns `fault:code`. */
export function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof WormholeError, String(e));
    return `${e.fault}:${e.code}`;
  }
  assert.fail("expected a refusal");
}
