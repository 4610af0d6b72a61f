/**
 * Receiving into a folder the user picked, instead of a download: a file is
 * written there under a fresh name; a directory's zip is written there as
 * `DIRNAME.zip` (fresh too), unpacked by unpack.ts once the sender has our
 * ack, and deleted when that worked. If the archive cannot be read at all,
 * the zip stays, so nothing received is lost.
 *
 * Writes go through `FileSystemWritableFileStream`, which Chromium commits
 * only on `close()`: an aborted transfer leaves no partial file behind.
 */
import type { Offer } from "../wormhole/index.ts";
import { safeName, type Sink } from "./download.ts";
import { PageError } from "./errors.ts";
import type { FlowView } from "./ui-port.ts";
import { freshName, unpackZip, type UnpackReport } from "./unpack.ts";
import { DEFAULT_LIMITS, printable, type ZipLimits } from "./zip-reader.ts";

/** Skipped entries named in the status line; the count covers the rest. */
const NAMED_SKIPS = 5;

/** `credit(n)`: the folder can take `n` more chunks (granted as its writes complete). */
export async function openFolderSink(into: FileSystemDirectoryHandle, offer: Exclude<Offer, { kind: "message" }>, credit: (chunks: number) => void): Promise<Sink> {
  const wanted = offer.kind === "file" ? safeName(offer.filename) : `${safeName(offer.dirname)}.zip`;
  const name = await freshName(into, wanted);
  const handle = await into.getFileHandle(name, { create: true });
  let stopped = false; // Cancel after the bytes are in: stop unpacking, keep the zip
  const sink = writableSink(await handle.createWritable(), () => void into.removeEntry(name).catch(() => {}), () => (stopped = true), credit);
  if (offer.kind === "file") return { ...sink, finish: async () => `Saved as ${name} in the folder you picked.` };
  // No more than the offer said (what the user agreed to): a zip bomb stops at `numbytes`, as in ferry's CLI.
  const limits: ZipLimits = { ...DEFAULT_LIMITS, maxEntrySize: offer.numbytes, maxTotal: offer.numbytes };
  const zip = { handle, name, dirname: safeName(offer.dirname) };
  return { ...sink, finish: (view) => unpack(into, zip, limits, view, () => stopped) };
}

interface ReceivedZip {
  readonly handle: FileSystemFileHandle;
  readonly name: string;
  readonly dirname: string;
}

async function unpack(into: FileSystemDirectoryHandle, zip: ReceivedZip, limits: ZipLimits, view: FlowView, stopped: () => boolean): Promise<string> {
  view.status(`Unpacking ${zip.name}…`);
  let report: UnpackReport;
  try {
    report = await unpackZip(await zip.handle.getFile(), into, zip.dirname, (done, total) => view.progress(done, total), limits, stopped);
  } catch (e) {
    return `Received ${zip.name}, but could not unpack it (${printable(e instanceof Error ? e.message : String(e))}); the zip is kept.`;
  }
  if (report.stopped) throw new PageError("cancelled", `Cancelled while unpacking: ${describe(report)} ${zip.name} is kept.`);
  const kept = await into.removeEntry(zip.name).then(() => "", () => ` (${zip.name} could not be deleted)`);
  return describe(report) + kept;
}

function describe(r: UnpackReport): string {
  const done = `Unpacked ${r.files} file${r.files === 1 ? "" : "s"} into ${r.root}.`;
  if (r.skipped.length === 0) return done;
  const named = r.skipped.slice(0, NAMED_SKIPS).map(printable).join("; ");
  const more = r.skipped.length > NAMED_SKIPS ? ` and ${r.skipped.length - NAMED_SKIPS} more` : "";
  return `${done} Skipped ${r.skipped.length}: ${named}${more}.`;
}

/**
 * The `Sink` over a writable file: writes queue in order; `close` waits for them all.
 * An abort after a good close (Cancel while unpacking) keeps the file, which is
 * complete, and calls `late` instead.
 */
/** Chunks handed to the file's writable stream and not yet written: the transfer waits beyond this. */
const WINDOW = 4;

/** Writes each chunk (the worker sends ~1 MiB ones) in order; one credit back per chunk written. */
function writableSink(w: FileSystemWritableFileStream, discard: () => void, late: () => void, credit: (chunks: number) => void): Sink {
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  credit(WINDOW);
  return {
    write: (chunk) => {
      queue = queue.then(() => w.write(chunk as Uint8Array<ArrayBuffer>)).then(() => credit(1));
    },
    close: async () => {
      await queue;
      await w.close();
      closed = true;
    },
    abort: (reason) => {
      if (closed) return late();
      void queue.finally(() => w.abort(reason)).catch(() => {}).finally(discard);
    },
  };
}
