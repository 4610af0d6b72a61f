/**
 * The records of the zip the page sends, as pure functions of the entries,
 * in the layout of ferry's own writer (crates/ferry/src/v1/archive/records.rs)
 * and of Python 0.24's zipstream-ng.
 *
 * The offer announces `zipsize` before any byte is sent, so `zipSize` and the
 * writer must agree to the byte: both build every header with the functions
 * below, and no header's length depends on a CRC or on the data.
 *
 * Per entry: local header (method 0, STORED), the data, then for files a
 * data descriptor with the CRC computed while streaming (flag bit 3).
 * Directories carry no data and no descriptor. Names are UTF-8 (bit 11).
 * ZIP64 fields appear only where a value does not fit in 32 bits (16 for
 * the entry count).
 */
import { CENTRAL_SIG, DESCRIPTOR_SIG, END_SIG, LOCAL_SIG, ZIP64_END_SIG, ZIP64_LOCATOR_SIG } from "./zip-format.ts";

export interface ZipEntry {
  /** Relative, `/`-separated, no `.`/`..`/empty segments; directories end in `/`. */
  readonly name: string;
  readonly kind: "file" | "dir";
  /** File length in bytes (0 for a directory). */
  readonly size: number;
  /** Modification time, ms since the epoch (local DOS time in the headers). */
  readonly mtime: number;
}

const ZIP64_EXTRA = 0x0001;
const VERSION_PLAIN = 20;
const VERSION_ZIP64 = 45;
/** "Made by" Unix, so readers (Python's receiver) apply the mode bits below. */
const MADE_BY_UNIX = 3 << 8;
const FLAG_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
const FILE_ATTRS = 0o100644 * 0x10000;
const DIR_ATTRS = 0o040755 * 0x10000 + 0x10; // + MS-DOS directory bit
const U32_MARK = 0xffffffff;
const U16_MARK = 0xffff;

/** Little-endian appends; u64 takes any safe integer. */
class Le {
  readonly bytes: number[] = [];
  u16(v: number): this {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(Math.floor(v / 0x10000) & 0xffff);
  }
  u64(v: number): this {
    return this.u32(v % 0x100000000).u32(Math.floor(v / 0x100000000));
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** The all-ones value is the ZIP64 marker itself, so it moves to ZIP64 too. */
const overU32 = (v: number) => v >= U32_MARK;
const nameBytes = (e: ZipEntry) => new TextEncoder().encode(e.name);
export const sizesZip64 = (e: ZipEntry) => overU32(e.size);
export const hasDescriptor = (e: ZipEntry) => e.kind === "file";

/** MS-DOS date and time (local, 2-second steps, 1980..2107) as [time, date]. */
export function dosDateTime(ms: number): [number, number] {
  const d = new Date(ms);
  const year = d.getFullYear();
  if (!Number.isFinite(year) || year < 1980) return [0, (1 << 5) | 1]; // 1980-01-01 00:00
  if (year > 2107) return [(23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31];
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
  return [time, ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate()];
}

/** From "version needed" to the two sizes. */
function common(out: Le, e: ZipEntry, version: number, crc: number, size: number): Le {
  const [time, date] = dosDateTime(e.mtime);
  const flags = hasDescriptor(e) ? FLAG_UTF8 | FLAG_DESCRIPTOR : FLAG_UTF8;
  return out.u16(version).u16(flags).u16(0).u16(time).u16(date).u32(crc).u32(size).u32(size);
}

/** Local header: CRC and sizes are zero (the descriptor has them); ZIP64 marks the sizes. */
export function localHeader(e: ZipEntry): Uint8Array {
  const zip64 = sizesZip64(e);
  const name = nameBytes(e);
  const extra = zip64 ? new Le().u16(ZIP64_EXTRA).u16(16).u64(0).u64(0).done() : new Uint8Array();
  const out = common(new Le().u32(LOCAL_SIG), e, zip64 ? VERSION_ZIP64 : VERSION_PLAIN, 0, zip64 ? U32_MARK : 0);
  return out.u16(name.length).u16(extra.length).raw(name).raw(extra).done();
}

/** After a file's data: its CRC and sizes (8-byte sizes for ZIP64 entries). */
export function dataDescriptor(e: ZipEntry, crc: number): Uint8Array {
  const out = new Le().u32(DESCRIPTOR_SIG).u32(crc);
  return (sizesZip64(e) ? out.u64(e.size).u64(e.size) : out.u32(e.size).u32(e.size)).done();
}

/** The central header; ZIP64 extra only with the values that overflow, in the spec's order. */
export function centralHeader(e: ZipEntry, crc: number, offset: number): Uint8Array {
  const values = sizesZip64(e) ? [e.size, e.size] : [];
  if (overU32(offset)) values.push(offset);
  const extra = new Le();
  if (values.length > 0) extra.u16(ZIP64_EXTRA).u16(8 * values.length);
  for (const v of values) extra.u64(v);
  const version = values.length > 0 ? VERSION_ZIP64 : VERSION_PLAIN;
  const name = nameBytes(e);
  const out = common(new Le().u32(CENTRAL_SIG).u16(MADE_BY_UNIX | version), e, version, crc, Math.min(e.size, U32_MARK));
  out.u16(name.length).u16(extra.bytes.length).u16(0).u16(0).u16(0); // comment, disk, internal attrs
  out.u32(e.kind === "dir" ? DIR_ATTRS : FILE_ATTRS).u32(Math.min(offset, U32_MARK));
  return out.raw(name).raw(extra.done()).done();
}

/** ZIP64 end record and locator when needed, then the classic end record. */
export function endRecords(entries: number, cdOffset: number, cdSize: number): Uint8Array {
  const out = new Le();
  const zip64 = entries >= U16_MARK || overU32(cdOffset) || overU32(cdSize);
  if (zip64) {
    const at = cdOffset + cdSize;
    out.u32(ZIP64_END_SIG).u64(44).u16(MADE_BY_UNIX | VERSION_ZIP64).u16(VERSION_ZIP64).u32(0).u32(0);
    out.u64(entries).u64(entries).u64(cdSize).u64(cdOffset);
    out.u32(ZIP64_LOCATOR_SIG).u32(0).u64(at).u32(1);
  }
  const count = Math.min(entries, U16_MARK);
  out.u32(END_SIG).u16(0).u16(0).u16(count).u16(count);
  return out.u32(Math.min(cdSize, U32_MARK)).u32(Math.min(cdOffset, U32_MARK)).u16(0).done();
}

/** Bytes from one entry's local header to the end of its descriptor. */
export function entrySpan(e: ZipEntry): number {
  return localHeader(e).length + e.size + (hasDescriptor(e) ? dataDescriptor(e, 0).length : 0);
}

/** Exact length of the archive the writer produces for these entries. */
export function zipSize(entries: readonly ZipEntry[]): number {
  let offset = 0;
  let cdSize = 0;
  for (const e of entries) {
    cdSize += centralHeader(e, 0, offset).length;
    offset += entrySpan(e);
  }
  return offset + cdSize + endRecords(entries.length, offset, cdSize).length;
}
