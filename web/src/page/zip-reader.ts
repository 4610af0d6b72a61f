/**
 * Reading a received zip's central directory, sans-IO: the caller reads the
 * byte ranges asked for (unpack.ts from a `File`, the tests from a buffer)
 * and these functions parse and check them. Everything here is peer input,
 * so every field is bounded against the archive's real size and the limits,
 * and every name must pass `entryPath` before it may become a path.
 *
 * Order: `tailRange` → `findEnd` (→ `zip64End` when the locator points
 * elsewhere) → `centralDirectory` → per entry `dataStart` on its local header.
 */
import { CENTRAL_SIG, END_SIG, LOCAL_SIG, ZIP64_END_SIG, ZIP64_LOCATOR_SIG } from "./zip-format.ts";

export interface ZipLimits {
  readonly maxEntries: number;
  /** Largest single entry, uncompressed. */
  readonly maxEntrySize: number;
  /** Sum of all entries, uncompressed (a zip bomb stops here). */
  readonly maxTotal: number;
}

export const DEFAULT_LIMITS: ZipLimits = { maxEntries: 100_000, maxEntrySize: 2 ** 44, maxTotal: 2 ** 45 };

export interface CentralEntry {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly csize: number;
  readonly usize: number;
  readonly localOffset: number;
  /** Made on Unix with the symlink file type: its data is a link target, never followed or written. */
  readonly symlink: boolean;
}

export interface CentralLocation {
  readonly count: number;
  readonly offset: number;
  readonly size: number;
}

/** A malformed or hostile archive; the whole unpack stops. */
export class ZipError extends Error {
  override readonly name = "ZipError";
}

const END_LEN = 22;
const LOCATOR_LEN = 20;
export const ZIP64_END_LEN = 56;
export const LOCAL_HEADER_LEN = 30;
const MAX_COMMENT = 0xffff;
/** The methods we can unpack: STORED, and DEFLATE through `DecompressionStream`. */
export const STORED = 0;
export const DEFLATED = 8;
const MADE_BY_UNIX = 3;
const S_IFLNK = 0o120000;

const u16 = (b: Uint8Array, at: number) => need(b, at + 2) && ((b[at] as number) | ((b[at + 1] as number) << 8));
const u32 = (b: Uint8Array, at: number) => u16(b, at) + u16(b, at + 2) * 0x10000;
function u64(b: Uint8Array, at: number): number {
  const v = u32(b, at) + u32(b, at + 4) * 0x100000000;
  if (!Number.isSafeInteger(v)) throw new ZipError("a 64-bit size or offset is beyond 2^53");
  return v;
}
function need(b: Uint8Array, end: number): true {
  if (end > b.length) throw new ZipError("a record runs past the end of the archive");
  return true;
}

/** The bytes to read first: the end record plus the largest comment and the ZIP64 locator. */
export function tailRange(fileSize: number): [number, number] {
  return [Math.max(0, fileSize - (END_LEN + MAX_COMMENT + LOCATOR_LEN)), fileSize];
}

/**
 * The central directory's place, from the tail (which starts at `tailStart`
 * of a `fileSize`-byte archive); or `{zip64At}`: read `ZIP64_END_LEN` bytes
 * there and call `zip64End`.
 */
export function findEnd(tail: Uint8Array, tailStart: number, fileSize: number): CentralLocation | { zip64At: number } {
  const at = lastEndRecord(tail);
  const count = u16(tail, at + 10);
  const loc = { count, size: u32(tail, at + 12), offset: u32(tail, at + 16) };
  const marked = count === 0xffff || loc.size === 0xffffffff || loc.offset === 0xffffffff;
  const lat = at - LOCATOR_LEN;
  if (lat >= 0 && u32(tail, lat) === ZIP64_LOCATOR_SIG) return { zip64At: checkedOffset(u64(tail, lat + 8), ZIP64_END_LEN, fileSize) };
  if (marked) throw new ZipError("ZIP64 values without a ZIP64 locator");
  return checkLocation(loc, tailStart + at);
}

function lastEndRecord(tail: Uint8Array): number {
  for (let at = tail.length - END_LEN; at >= 0; at--) {
    if (u32(tail, at) === END_SIG && at + END_LEN + u16(tail, at + 20) === tail.length) return at;
  }
  throw new ZipError("not a zip archive (no end of central directory record)");
}

export function zip64End(rec: Uint8Array, recOffset: number): CentralLocation {
  if (u32(rec, 0) !== ZIP64_END_SIG) throw new ZipError("the ZIP64 locator points at no ZIP64 end record");
  return checkLocation({ count: u64(rec, 32), size: u64(rec, 40), offset: u64(rec, 48) }, recOffset);
}

/** The central directory must end where the end records begin. */
function checkLocation(loc: CentralLocation, endAt: number): CentralLocation {
  if (loc.offset + loc.size !== endAt) throw new ZipError("the central directory is not where the end record says");
  return loc;
}

function checkedOffset(at: number, len: number, fileSize: number): number {
  if (at + len > fileSize) throw new ZipError("an offset points past the end of the archive");
  return at;
}

/** Parses `loc.count` central headers from `cd` (the `loc.size` bytes at `loc.offset`). */
export function centralDirectory(cd: Uint8Array, loc: CentralLocation, limits: ZipLimits = DEFAULT_LIMITS): CentralEntry[] {
  if (loc.count > limits.maxEntries) throw new ZipError(`too many entries (${loc.count}, at most ${limits.maxEntries})`);
  const out: CentralEntry[] = [];
  let total = 0;
  for (let at = 0, i = 0; i < loc.count; i++) {
    const [entry, len] = centralHeader(cd, at, loc.offset);
    if (entry.usize > limits.maxEntrySize) throw new ZipError(`${entry.name}: ${entry.usize} bytes, more than allowed`);
    total += entry.usize;
    if (total > limits.maxTotal) throw new ZipError("the entries add up to more than allowed");
    out.push(entry);
    at += len;
  }
  return out;
}

function centralHeader(cd: Uint8Array, at: number, cdOffset: number): [CentralEntry, number] {
  if (u32(cd, at) !== CENTRAL_SIG) throw new ZipError("a central directory header is missing");
  const flags = u16(cd, at + 8);
  const nameLen = u16(cd, at + 28);
  const extraLen = u16(cd, at + 30);
  const len = 46 + nameLen + extraLen + u16(cd, at + 32);
  need(cd, at + len);
  const name = new TextDecoder("utf-8", { fatal: false }).decode(cd.subarray(at + 46, at + 46 + nameLen));
  if (flags & 1) throw new ZipError(`${name}: encrypted entries are not supported`);
  const symlink = u16(cd, at + 4) >> 8 === MADE_BY_UNIX && Math.floor(u32(cd, at + 38) / 0x10000) >> 12 === S_IFLNK >> 12;
  const raw = { name, method: u16(cd, at + 10), crc: u32(cd, at + 16), csize: u32(cd, at + 20), usize: u32(cd, at + 24), localOffset: u32(cd, at + 42), symlink };
  const entry = applyZip64(raw, cd.subarray(at + 46 + nameLen, at + 46 + nameLen + extraLen));
  if (entry.method !== STORED && entry.method !== DEFLATED) throw new ZipError(`${name}: compression method ${entry.method} is not supported`);
  if (entry.method === STORED && entry.csize !== entry.usize) throw new ZipError(`${name}: stored sizes disagree`);
  if (entry.localOffset + LOCAL_HEADER_LEN + entry.csize > cdOffset) throw new ZipError(`${name}: data lies outside the archive`);
  return [entry, len];
}

/** Replaces the all-ones fields with the ZIP64 extra's values, in the spec's order. */
function applyZip64(e: CentralEntry, extra: Uint8Array): CentralEntry {
  const wanted = [e.usize, e.csize, e.localOffset].map((v) => v === 0xffffffff);
  if (!wanted.some((w) => w)) return e;
  for (let at = 0; at + 4 <= extra.length; at += 4 + u16(extra, at + 2)) {
    if (u16(extra, at) !== 0x0001) continue;
    let p = at + 4;
    const take = (w: boolean | undefined, v: number) => (w === true ? ((p += 8), u64(extra, p - 8)) : v);
    return { ...e, usize: take(wanted[0], e.usize), csize: take(wanted[1], e.csize), localOffset: take(wanted[2], e.localOffset) };
  }
  throw new ZipError(`${e.name}: ZIP64 values without a ZIP64 extra field`);
}

/** Where an entry's data starts, from its 30-byte local header (names and extras vary). */
export function dataStart(local: Uint8Array, e: CentralEntry, cdOffset: number): number {
  if (u32(local, 0) !== LOCAL_SIG) throw new ZipError(`${e.name}: local header missing`);
  const start = e.localOffset + LOCAL_HEADER_LEN + u16(local, 26) + u16(local, 28);
  if (start + e.csize > cdOffset) throw new ZipError(`${e.name}: data lies outside the archive`);
  return start;
}

/** Longest peer-supplied text we put in a message. */
const MAX_SHOWN = 200;

/**
 * Peer-supplied text made safe to show: control and bidirectional-override
 * characters (which could make a name read as something else) become `�`,
 * and it is cut to a readable length.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "\ufffd");
  return clean.length > MAX_SHOWN ? clean.slice(0, MAX_SHOWN) + "…" : clean;
}

export type EntryPath = { readonly ok: true; readonly segments: readonly string[]; readonly dir: boolean } | { readonly ok: false; readonly why: string };

const MAX_SEGMENT = 255;
const MAX_DEPTH = 64;

/**
 * A zip name as path segments under the target folder, or why not. Both `/`
 * and `\` separate (a Windows-made zip, or a trick); absolute names, drive
 * letters, `..`, control characters and over-long names are refused.
 */
export function entryPath(name: string): EntryPath {
  const norm = name.replace(/\\/g, "/");
  if (norm.startsWith("/")) return { ok: false, why: "absolute path" };
  if (/^[A-Za-z]:/.test(norm)) return { ok: false, why: "drive letter" };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(norm)) return { ok: false, why: "control character in the name" };
  const segments = norm.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { ok: false, why: "path goes outside the folder (..)" };
  if (segments.length === 0) return { ok: false, why: "empty name" };
  if (segments.length > MAX_DEPTH || segments.some((s) => s.length > MAX_SEGMENT)) return { ok: false, why: "name too long" };
  return { ok: true, segments, dir: norm.endsWith("/") };
}
