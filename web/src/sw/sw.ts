/**
 * The page's service worker, two jobs.
 *
 * Downloads: the page posts `{type: "ferry-download", id, name, size}` with a
 * MessagePort; we answer `GET ferry-download/<id>` with a ReadableStream of
 * the chunks that arrive on that port, as an attachment with the file's name
 * and length, so the browser saves it as an ordinary download while it streams.
 *
 * Offline: the app shell (shell.ts) is cached at install and served
 * network-first, so a page loaded once from the user's server still opens
 * with no network, and a new `ferry serve` is picked up on the next load.
 * Nothing else is intercepted.
 */
import { free } from "../page/buffers.ts";
import { activateShell, installShell, shellResponse } from "./shell.ts";

interface Pending {
  readonly name: string;
  readonly size: number;
  readonly stream: ReadableStream<Uint8Array>;
}

interface FetchEventLike extends Event {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}

interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void;
}

interface WorkerScope {
  addEventListener(type: "fetch", f: (e: FetchEventLike) => void): void;
  addEventListener(type: "message", f: (e: MessageEvent) => void): void;
  addEventListener(type: "install" | "activate", f: (e: ExtendableEventLike) => void): void;
  readonly caches: CacheStorage;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  readonly registration: { readonly scope: string };
}

const scope = self as unknown as WorkerScope;
const pending = new Map<string, Pending>();
const PREFIX = "ferry-download/";

scope.addEventListener("install", (e) => e.waitUntil(installShell(scope.caches, scope.registration.scope).then(() => scope.skipWaiting())));
scope.addEventListener("activate", (e) => e.waitUntil(activateShell(scope.caches).then(() => scope.clients.claim())));

scope.addEventListener("message", (e) => {
  const d = e.data as { type?: unknown; id?: unknown; name?: unknown; size?: unknown };
  const port = e.ports[0];
  if (d.type !== "ferry-download" || typeof d.id !== "string" || typeof d.name !== "string" || port === undefined) return;
  pending.set(d.id, { name: d.name, size: typeof d.size === "number" ? d.size : -1, stream: portStream(port) });
  port.postMessage({ ready: true });
});

scope.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  const base = new URL(PREFIX, scope.registration.scope);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
    const shell = shellResponse(scope.caches, scope.registration.scope, e.request);
    if (shell !== null) e.respondWith(shell);
    return;
  }
  const id = url.pathname.slice(base.pathname.length);
  const p = pending.get(id);
  if (p === undefined) return e.respondWith(new Response("no such download", { status: 404 }));
  pending.delete(id);
  e.respondWith(new Response(p.stream, { headers: downloadHeaders(p.name, p.size) }));
});

/** Chunks the stream holds or has asked for: at most this many MiB in flight. */
const WINDOW = 4;

/**
 * Chunks posted on `port` become the stream; `end` closes it, `abort` errors
 * it. The page sends a chunk only against a credit, and we grant credits as
 * the browser reads the stream (`pull`), so a slow disk slows the sender
 * instead of filling memory.
 */
function portStream(port: MessagePort): ReadableStream<Uint8Array> {
  let enqueued = 0;
  let credited = WINDOW;
  const spent = new Spent();
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        port.onmessage = (e: MessageEvent) => {
          const m = e.data as { chunk?: Uint8Array; end?: boolean; abort?: string };
          if (m.chunk !== undefined) (controller.enqueue(spent.track(m.chunk)), (enqueued += 1));
          else if (m.end === true) (controller.close(), port.close());
          else if (m.abort !== undefined) (controller.error(new Error(m.abort)), port.close());
        };
        port.postMessage({ credit: WINDOW });
      },
      pull(controller) {
        // Keep queued + asked-for at WINDOW: consumed = enqueued - queued.
        const consumed = enqueued - (WINDOW - (controller.desiredSize ?? WINDOW));
        spent.consumed(consumed);
        const grant = consumed + WINDOW - credited;
        if (grant > 0) (port.postMessage({ credit: grant }), (credited += grant));
      },
    },
    new CountQueuingStrategy({ highWaterMark: WINDOW }),
  );
}

/**
 * Frees chunks the browser has written. It reads chunk k only once it has
 * written chunk k-1, so when k chunks were read, all before k-1 are done:
 * we detach those, which returns their memory at once. Left to V8's GC,
 * transferred-in chunks piled up to ~240 MiB in this thread (they do not
 * count towards what triggers a collection here).
 */
class Spent {
  readonly #chunks: Uint8Array[] = [];
  #freed = 0;

  track(chunk: Uint8Array): Uint8Array {
    this.#chunks.push(chunk);
    return chunk;
  }

  consumed(n: number): void {
    for (; this.#freed < n - 1; this.#freed += 1) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) free(chunk.buffer);
    }
  }
}

function downloadHeaders(name: string, size: number): Headers {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const h = new Headers({
    "Content-Type": "application/octet-stream",
    "Content-Disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    "X-Content-Type-Options": "nosniff",
  });
  if (size >= 0) h.set("Content-Length", String(size));
  return h;
}
