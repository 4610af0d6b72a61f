/**
 * A zip built while it is sent: a `ByteSource` over the entries' own
 * sources, with headers from zip-records.ts. Nothing is held but the
 * central directory (tens of bytes per entry), so a folder of any size
 * streams in constant memory. Its `size` is known before the first byte,
 * which the `directory` offer needs.
 */
import type { ByteSource } from "./byte-source.ts";
import { Crc32 } from "./crc32.ts";
import { centralHeader, dataDescriptor, endRecords, entrySpan, hasDescriptor, localHeader, zipSize, type ZipEntry } from "./zip-records.ts";

export interface ZipItem {
  readonly entry: ZipEntry;
  /** The file's bytes; not called for directories. */
  open(): ByteSource;
}

/** Small pieces (headers, small files) are gathered up to this before a read returns. */
const GATHER = 256 * 1024;

export function zipSource(items: readonly ZipItem[]): ByteSource {
  const size = zipSize(items.map((i) => i.entry));
  const pieces = zipPieces(items);
  return {
    size,
    read: async () => {
      const got: Uint8Array[] = [];
      let len = 0;
      while (len < GATHER) {
        const next = await pieces.next();
        if (next.done === true) break;
        if (next.value.length === 0) continue;
        got.push(next.value);
        len += next.value.length;
      }
      return len === 0 ? null : concat(got, len);
    },
  };
}

/** Every piece of the archive in order. Fails if an entry yields other than its declared size. */
async function* zipPieces(items: readonly ZipItem[]): AsyncGenerator<Uint8Array> {
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const { entry, open } of items) {
    yield localHeader(entry);
    const crc = entry.kind === "file" ? yield* entryData(entry, open()) : 0;
    if (hasDescriptor(entry)) yield dataDescriptor(entry, crc);
    central.push(centralHeader(entry, crc, offset));
    offset += entrySpan(entry);
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  yield* central;
  yield endRecords(items.length, offset, cdSize);
}

async function* entryData(entry: ZipEntry, src: ByteSource): AsyncGenerator<Uint8Array, number> {
  const crc = new Crc32();
  let got = 0;
  for (let chunk = await src.read(); chunk !== null; chunk = await src.read()) {
    got += chunk.length;
    if (got > entry.size) break;
    crc.update(chunk);
    yield chunk;
  }
  if (got !== entry.size) throw new Error(`${entry.name} changed while being sent (${entry.size} bytes announced)`);
  return crc.digest();
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}
