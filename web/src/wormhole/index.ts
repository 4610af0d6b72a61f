/**
 * The Magic Wormhole v1 core for ferry's browser page, bottom up:
 *
 * - code.ts, wordlist.ts: codes (`7-guitarist-revenge`), generation, completion;
 * - spake2-group.ts, spake2.ts, pake.ts: python-spake2's SPAKE2_Symmetric and its `pake` body;
 * - keys.ts, secretbox.ts: HKDF keys typed by purpose, XSalsa20-Poly1305;
 * - mailbox-wire.ts, mailbox.ts, phase-order.ts: the rendezvous client machine;
 * - hints.ts, transfer.ts: file-transfer v1 messages;
 * - transit.ts, records.ts, transit-connection.ts: the encrypted pipe.
 *
 * Everything is sans-IO: no DOM, no sockets, no clock. Randomness comes in as
 * a `Random`; the page owns the WebSockets and drives these machines.
 */

export * from "./code.ts";
export * from "./errors.ts";
export * from "./hints.ts";
export * from "./keys.ts";
export * from "./mailbox.ts";
export * from "./mailbox-wire.ts";
export * from "./pake.ts";
export * from "./random.ts";
export * from "./records.ts";
export { open as secretboxOpen, seal as secretboxSeal } from "./secretbox.ts";
export * from "./transfer.ts";
export * from "./transit.ts";
export * from "./transit-connection.ts";
