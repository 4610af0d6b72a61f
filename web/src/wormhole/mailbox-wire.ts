/**
 * The mailbox server's WebSocket messages, client side (WORMHOLE-PROTOCOL.md
 * §1.3-1.5). One JSON object per text frame; the page does the JSON.parse and
 * JSON.stringify, this file gives those objects types.
 *
 * Servers format JSON differently and add fields over time, so parsing
 * ignores unknown keys and turns unknown types into `{type: "unknown"}`; a
 * known type with the wrong field types is the server's fault.
 */

import { serverError } from "./errors.ts";

/** How a side leaves the mailbox; the server keeps it for its statistics. */
export type Mood = "happy" | "lonely" | "scary" | "errory" | "unwelcome";

export type ClientMessage =
  | { type: "bind"; appid: string; side: string; client_version?: [string, string] }
  | { type: "list" }
  | { type: "allocate" }
  | { type: "claim"; nameplate: string }
  | { type: "release"; nameplate: string }
  | { type: "open"; mailbox: string }
  | { type: "add"; phase: string; body: string }
  | { type: "close"; mailbox: string; mood: Mood }
  | { type: "ping"; ping: number };

export type ServerMessage =
  | { type: "welcome"; motd?: string; error?: string }
  | { type: "ack" }
  | { type: "nameplates"; nameplates: string[] }
  | { type: "allocated"; nameplate: string }
  | { type: "claimed"; mailbox: string }
  | { type: "released" }
  | { type: "message"; side: string; phase: string; body: string }
  | { type: "closed" }
  | { type: "pong" }
  | { type: "error"; error: string }
  | { type: "unknown"; name: string };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(frame: Json, key: string): string {
  const v = frame[key];
  if (typeof v !== "string") {
    throw serverError("bad-frame", `the server's ${JSON.stringify(frame["type"])} has no ${key} string`);
  }
  return v;
}

function welcome(frame: Json): ServerMessage {
  const body = frame["welcome"];
  if (!isObject(body)) throw serverError("bad-frame", "the server's welcome has no welcome object");
  const out: { type: "welcome"; motd?: string; error?: string } = { type: "welcome" };
  if (typeof body["motd"] === "string") out.motd = body["motd"];
  if (typeof body["error"] === "string") out.error = body["error"];
  return out;
}

function nameplates(frame: Json): ServerMessage {
  const list = frame["nameplates"];
  if (!Array.isArray(list)) throw serverError("bad-frame", "the server's nameplates has no list");
  const ids = list.map((n: unknown) => (isObject(n) && typeof n["id"] === "string" ? n["id"] : null));
  return { type: "nameplates", nameplates: ids.filter((id) => id !== null) };
}

/** Gives one parsed server frame its type. */
export function parseServerMessage(frame: unknown): ServerMessage {
  if (!isObject(frame) || typeof frame["type"] !== "string") {
    throw serverError("bad-frame", "the server sent something that is not a typed JSON object");
  }
  const type = frame["type"];
  switch (type) {
    case "welcome":
      return welcome(frame);
    case "nameplates":
      return nameplates(frame);
    case "allocated":
      return { type, nameplate: str(frame, "nameplate") };
    case "claimed":
      return { type, mailbox: str(frame, "mailbox") };
    case "message":
      return { type, side: str(frame, "side"), phase: str(frame, "phase"), body: str(frame, "body") };
    case "error":
      return { type, error: str(frame, "error") };
    case "ack":
    case "released":
    case "closed":
    case "pong":
      return { type };
    default:
      return { type: "unknown", name: type };
  }
}
