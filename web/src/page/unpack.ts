/**
 * Unpacking a received zip into a folder the user picked (File System Access
 * API): the central directory is read from the `File` by random access
 * (zip-reader.ts checks it), then each entry is streamed out, through
 * `DecompressionStream("deflate-raw")` when it is deflated.
 *
 * Safety: every name passes `entryPath` (no absolute paths, `..`, drive
 * letters, control characters) and becomes handles one segment at a time
 * under a fresh folder, so nothing can land outside it; an existing file is
 * never overwritten (the new one gets a fresh name like `a (1).txt`); an
 * entry whose size or CRC is not what the directory says is removed and
 * reported. Entry count and sizes are bounded (`ZipLimits`).
 */
import { Crc32 } from "./crc32.ts";
import { centralDirectory, DEFAULT_LIMITS, dataStart, entryPath, findEnd, LOCAL_HEADER_LEN, tailRange, zip64End, ZIP64_END_LEN, ZipError, DEFLATED, type CentralEntry, type ZipLimits } from "./zip-reader.ts";
import { numbered } from "./selection.ts";

export interface UnpackReport {
  /** The folder made inside the picked one. */
  readonly root: string;
  readonly files: number;
  /** Entries not written, each with why. */
  readonly skipped: readonly string[];
  /** Whether `stopped()` ended it before the last entry. */
  readonly stopped: boolean;
}

/** Fresh names tried before giving up (`a (1).txt` … `a (999).txt`). */
const MAX_FRESH = 1000;

const readRange = async (blob: Blob, from: number, to: number) => new Uint8Array(await blob.slice(from, to).arrayBuffer());

/** The entries and where the central directory starts (no entry's data may reach past it). */
export async function readCentral(zip: Blob, limits: ZipLimits = DEFAULT_LIMITS): Promise<{ entries: CentralEntry[]; cdOffset: number }> {
  const [from, to] = tailRange(zip.size);
  let loc = findEnd(await readRange(zip, from, to), from, zip.size);
  if ("zip64At" in loc) loc = zip64End(await readRange(zip, loc.zip64At, loc.zip64At + ZIP64_END_LEN), loc.zip64At);
  const entries = centralDirectory(await readRange(zip, loc.offset, loc.offset + loc.size), loc, limits);
  return { entries, cdOffset: loc.offset };
}

export async function unpackZip(
  zip: Blob,
  into: FileSystemDirectoryHandle,
  dirname: string,
  progress: (done: number, total: number) => void = () => {},
  limits: ZipLimits = DEFAULT_LIMITS,
  stopped: () => boolean = () => false,
): Promise<UnpackReport> {
  const { entries, cdOffset } = await readCentral(zip, limits);
  const [rootName, root] = await freshDir(into, dirname);
  const dirs = new Map<string, FileSystemDirectoryHandle>([["", root]]);
  const total = entries.reduce((n, e) => n + e.usize, 0);
  const skipped: string[] = [];
  let files = 0;
  let done = 0;
  for (const e of entries) {
    if (stopped()) return { root: rootName, files, skipped, stopped: true };
    try {
      if (await unpackEntry(zip, e, cdOffset, dirs)) files++;
    } catch (err) {
      skipped.push(`${e.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    progress((done += e.usize), total);
  }
  return { root: rootName, files, skipped, stopped: false };
}

/** Writes one entry; true for a file, false for a directory. Throws to skip it. */
async function unpackEntry(zip: Blob, e: CentralEntry, cdOffset: number, dirs: Map<string, FileSystemDirectoryHandle>): Promise<boolean> {
  const path = entryPath(e.name);
  if (!path.ok) throw new ZipError(path.why);
  if (e.symlink) throw new ZipError("a symbolic link (not followed)");
  const parents = path.dir ? path.segments : path.segments.slice(0, -1);
  const parent = await dirAt(dirs, parents);
  if (path.dir) return false;
  const start = dataStart(await readRange(zip, e.localOffset, e.localOffset + LOCAL_HEADER_LEN), e, cdOffset);
  await writeEntry(zip.slice(start, start + e.csize), e, parent, path.segments[path.segments.length - 1] as string);
  return true;
}

/** The directory at `segments` under the root, made as needed (one segment at a time, never a path). */
async function dirAt(dirs: Map<string, FileSystemDirectoryHandle>, segments: readonly string[]): Promise<FileSystemDirectoryHandle> {
  let key = "";
  let dir = dirs.get("") as FileSystemDirectoryHandle;
  for (const seg of segments) {
    key += "/" + seg;
    const known = dirs.get(key);
    dir = known ?? (await dir.getDirectoryHandle(seg, { create: true }));
    dirs.set(key, dir);
  }
  return dir;
}

/** Streams the entry into a fresh file; on a size or CRC mismatch the file is removed. */
async function writeEntry(data: Blob, e: CentralEntry, dir: FileSystemDirectoryHandle, leaf: string): Promise<void> {
  const name = await freshName(dir, leaf);
  const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
  try {
    const stream = e.method === DEFLATED ? data.stream().pipeThrough(new DecompressionStream("deflate-raw")) : data.stream();
    await copyChecked(stream, e, w);
    await w.close();
  } catch (err) {
    await w.abort().catch(() => {});
    await dir.removeEntry(name).catch(() => {});
    throw err;
  }
}

async function copyChecked(stream: ReadableStream<Uint8Array>, e: CentralEntry, w: FileSystemWritableFileStream): Promise<void> {
  const crc = new Crc32();
  let got = 0;
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    got += r.value.length;
    if (got > e.usize) throw new ZipError(`larger than its declared ${e.usize} bytes`);
    crc.update(r.value);
    await w.write(r.value as Uint8Array<ArrayBuffer>);
  }
  if (got !== e.usize) throw new ZipError(`${got} bytes, not the declared ${e.usize}`);
  if (crc.digest() !== e.crc) throw new ZipError("CRC-32 does not match");
}

/** `dirname` inside `into`, or `dirname (1)`…: we never merge into an existing folder. */
async function freshDir(into: FileSystemDirectoryHandle, dirname: string): Promise<[string, FileSystemDirectoryHandle]> {
  const name = await freshName(into, dirname);
  return [name, await into.getDirectoryHandle(name, { create: true })];
}

/** The first of `name`, `name (1)`… that neither a file nor a folder in `dir` has. */
export async function freshName(dir: FileSystemDirectoryHandle, name: string): Promise<string> {
  for (let n = 0; n < MAX_FRESH; n++) {
    const candidate = n === 0 ? name : numbered(name, n);
    if (await absent(dir, candidate)) return candidate;
  }
  throw new ZipError(`${name}: no free name`);
}

async function absent(dir: FileSystemDirectoryHandle, name: string): Promise<boolean> {
  const miss = (p: Promise<unknown>) => p.then(() => false, (e: unknown) => e instanceof DOMException && e.name === "NotFoundError");
  return (await miss(dir.getFileHandle(name))) && (await miss(dir.getDirectoryHandle(name)));
}
