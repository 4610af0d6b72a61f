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

/** Chunks posted on `port` become the stream; `end` closes it, `abort` errors it. */
function portStream(port: MessagePort): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      port.onmessage = (e: MessageEvent) => {
        const m = e.data as { chunk?: Uint8Array; end?: boolean; abort?: string };
        if (m.chunk !== undefined) controller.enqueue(m.chunk);
        else if (m.end === true) (controller.close(), port.close());
        else if (m.abort !== undefined) (controller.error(new Error(m.abort)), port.close());
      };
    },
  });
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
