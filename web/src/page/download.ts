/**
 * Saving a received file as an ordinary browser download, streamed.
 *
 * With a service worker (secure contexts: https, or http on localhost), the
 * page hands `sw.js` one end of a MessageChannel and opens a generated URL;
 * the worker answers it with a ReadableStream fed by the chunks we post, so
 * the browser writes the file to disk as it arrives, with its name and size.
 * Without one (plain http on a LAN address), the chunks are kept as a Blob
 * and saved at the end: correct, but the file is held in memory.
 */
import { whole } from "./buffers.ts";
import { PageError } from "./errors.ts";
import type { FlowView } from "./ui-port.ts";

export interface Sink {
  write(chunk: Uint8Array): void;
  /** All bytes are in; resolves once they are stored (a folder sink flushes its file). */
  close(): void | Promise<void>;
  abort(reason: string): void;
  /** After the sender has our ack: more work on what was stored (unpacking a zip); says what was done. */
  finish?(view: FlowView): Promise<string>;
}

export const DOWNLOAD_PREFIX = "ferry-download/";

/** The basename of a peer-supplied name, without control characters. */
export function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return clean === "" || clean === "." || clean === ".." ? "download" : clean;
}

/**
 * `credit(n)`: the download can take `n` more chunks. The service worker's
 * stream grants them as the browser writes the file; a Blob takes anything.
 */
export async function openDownload(name: string, size: number, credit: (chunks: number) => void): Promise<Sink> {
  const sw = await activeWorker();
  if (sw !== null) return workerSink(sw, name, size, credit);
  credit(Number.MAX_SAFE_INTEGER);
  return blobSink(name);
}

/** The active service worker, registered on first use; null where there is none. */
async function activeWorker(): Promise<ServiceWorker | null> {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return null;
  try {
    await navigator.serviceWorker.register("./sw.js");
    const reg = await navigator.serviceWorker.ready;
    return reg.active;
  } catch {
    return null;
  }
}

async function workerSink(sw: ServiceWorker, name: string, size: number, credit: (chunks: number) => void): Promise<Sink> {
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const channel = new MessageChannel();
  const ready = new Promise<void>((resolve) => {
    channel.port1.onmessage = (e: MessageEvent<{ ready?: true; credit?: number }>) => {
      if (e.data.ready === true) resolve();
      if (typeof e.data.credit === "number") credit(e.data.credit);
    };
  });
  sw.postMessage({ type: "ferry-download", id, name, size }, [channel.port2]);
  await ready;
  click(new URL(DOWNLOAD_PREFIX + id, location.href).href);
  const port = channel.port1;
  return {
    // Chunks come from the transit worker already gathered (1 MiB); their buffers move on, uncopied.
    write: (chunk) => {
      const w = whole(chunk);
      port.postMessage({ chunk: w }, [w.buffer]);
    },
    close: () => port.postMessage({ end: true }),
    abort: (reason) => port.postMessage({ abort: reason }),
  };
}

function blobSink(name: string): Sink {
  const parts: BlobPart[] = [];
  return {
    write: (chunk) => void parts.push(chunk as Uint8Array<ArrayBuffer>),
    close: () => {
      const url = URL.createObjectURL(new Blob(parts));
      click(url, name);
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    },
    abort: () => void parts.splice(0),
  };
}

/** Starts a download by following a link; the page itself stays. */
function click(href: string, name?: string): void {
  const a = document.createElement("a");
  a.href = href;
  if (name !== undefined) a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

export function requireSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new PageError("peer-error", "The offered size is not valid");
}
