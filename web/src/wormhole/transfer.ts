/**
 * File-transfer v1 messages (WORMHOLE-PROTOCOL.md §4.1): each mailbox payload
 * after key confirmation is one UTF-8 JSON object with **exactly one**
 * top-level key (the Rust peer fails on more), `offer`, `answer`, `transit` or
 * `error`. Parsing is strict about shape and size and lenient about extra
 * keys inside the objects, which other clients add.
 */

import { fromUtf8, utf8 } from "./bytes.ts";
import { peerError } from "./errors.ts";
import { parseTransitHints, transitHintsJson, type TransitHints } from "./hints.ts";

/** Largest payload we parse. Text offers are the only big ones; no client sends near this. */
export const MAX_PEER_MESSAGE = 1024 * 1024;
/** Longest file or directory name accepted (the page still takes the basename). */
export const MAX_NAME_LEN = 1024;

/** What the real receivers send when their user says no. */
export const TRANSFER_REJECTED = "transfer rejected";

export type Offer =
  | { readonly kind: "message"; readonly text: string }
  | { readonly kind: "file"; readonly filename: string; readonly filesize: number }
  | {
      readonly kind: "directory";
      /** `zipfile/deflated` from every client, whatever the zip holds. */
      readonly mode: string;
      readonly dirname: string;
      /** Bytes that cross transit. */
      readonly zipsize: number;
      readonly numbytes: number;
      readonly numfiles: number;
    };

export type Answer =
  | { readonly kind: "message_ack"; readonly value: string }
  | { readonly kind: "file_ack"; readonly value: string };

export type PeerMessage =
  | { readonly type: "offer"; readonly offer: Offer }
  | { readonly type: "answer"; readonly answer: Answer }
  | { readonly type: "transit"; readonly transit: TransitHints }
  | { readonly type: "error"; readonly error: string };

type Json = Record<string, unknown>;

function malformed(why: string): never {
  throw peerError("bad-peer-message", `the other side sent a malformed message: ${why}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The single key of an object and its value; anything else is malformed. */
function onlyEntry(v: unknown, what: string): [string, unknown] {
  if (!isObject(v)) malformed(`${what} is not a JSON object`);
  const keys = Object.keys(v);
  if (keys.length !== 1) malformed(`${what} has ${keys.length} keys, expected exactly one`);
  const key = keys[0] as string;
  return [key, v[key]];
}

function name(v: unknown, what: string): string {
  if (typeof v !== "string" || v === "" || v.length > MAX_NAME_LEN) malformed(`${what} must be a name of 1 to ${MAX_NAME_LEN} characters`);
  return v;
}

/** Sizes are JSON integers; past 2^53 JSON.parse would silently round them. */
function size(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) malformed(`${what} must be a non-negative integer below 2^53`);
  return v as number;
}

function text(v: unknown, what: string): string {
  if (typeof v !== "string") malformed(`${what} must be a string`);
  return v;
}

function parseOffer(v: unknown): Offer {
  const [kind, body] = onlyEntry(v, "the offer");
  if (kind === "message") return { kind, text: text(body, "offer.message") };
  if (!isObject(body)) malformed(`offer.${kind} is not an object`);
  if (kind === "file") {
    return { kind, filename: name(body["filename"], "filename"), filesize: size(body["filesize"], "filesize") };
  }
  if (kind === "directory") {
    return {
      kind,
      mode: text(body["mode"], "mode"),
      dirname: name(body["dirname"], "dirname"),
      zipsize: size(body["zipsize"], "zipsize"),
      numbytes: size(body["numbytes"], "numbytes"),
      numfiles: size(body["numfiles"], "numfiles"),
    };
  }
  throw peerError("unknown-offer", `the other side offered something unknown: ${JSON.stringify(kind)}`);
}

function parseAnswer(v: unknown): Answer {
  const [kind, value] = onlyEntry(v, "the answer");
  if (kind !== "message_ack" && kind !== "file_ack") malformed(`unknown answer ${JSON.stringify(kind)}`);
  return { kind, value: text(value, kind) };
}

/** One decrypted payload from the peer. */
export function parsePeerMessage(bytes: Uint8Array): PeerMessage {
  if (bytes.length > MAX_PEER_MESSAGE) malformed(`${bytes.length} bytes is more than ${MAX_PEER_MESSAGE}`);
  const json = fromUtf8(bytes);
  if (json === null) malformed("not UTF-8");
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    malformed("not JSON");
  }
  const [type, body] = onlyEntry(value, "the message");
  switch (type) {
    case "offer":
      return { type, offer: parseOffer(body) };
    case "answer":
      return { type, answer: parseAnswer(body) };
    case "transit":
      return { type, transit: parseTransitHints(body) };
    case "error":
      return { type, error: text(body, "error") };
    default:
      throw peerError("unknown-message", `the other side sent an unknown message ${JSON.stringify(type)}`);
  }
}

function offerJson(offer: Offer): Json {
  switch (offer.kind) {
    case "message":
      return { message: offer.text };
    case "file":
      return { file: { filename: offer.filename, filesize: offer.filesize } };
    case "directory": {
      const { mode, dirname, zipsize, numbytes, numfiles } = offer;
      return { directory: { mode, dirname, zipsize, numbytes, numfiles } };
    }
  }
}

/** Our payload, compact JSON like the Rust and Go clients. */
export function encodePeerMessage(msg: PeerMessage): Uint8Array {
  switch (msg.type) {
    case "offer":
      return utf8(JSON.stringify({ offer: offerJson(msg.offer) }));
    case "answer":
      return utf8(JSON.stringify({ answer: { [msg.answer.kind]: msg.answer.value } }));
    case "transit":
      return utf8(JSON.stringify({ transit: transitHintsJson(msg.transit) }));
    case "error":
      return utf8(JSON.stringify({ error: msg.error }));
  }
}
