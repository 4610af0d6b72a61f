/**
 * The app shell for offline use: what the page needs to open with no
 * network. Network first, cache as the fallback: online, every load gets
 * what the server has now (a new `ferry serve` is never hidden behind an old
 * cache), and each good answer refreshes the copy; offline, the last copy.
 * `ferry-web.json` is in the shell so the page can say "server gone" instead
 * of failing to start.
 */

import { SHELL, shellKey } from "./shell-key.ts";

/** One cache per layout of this file; older ones are deleted on activate. */
const CACHE = "ferry-shell-v1";

export async function installShell(caches: CacheStorage, scope: string): Promise<void> {
  const cache = await caches.open(CACHE);
  // One by one, failures ignored: a missing piece must not stop the worker (downloads need it).
  await Promise.all(SHELL.map((p) => cache.add(new Request(new URL(p, scope).href, { cache: "no-store" })).catch(() => {})));
}

export async function activateShell(caches: CacheStorage): Promise<void> {
  for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
}

/** The response for a shell request, or null for anything else (left to the network). */
export function shellResponse(caches: CacheStorage, scope: string, req: Request): Promise<Response> | null {
  const key = shellKey(scope, req);
  return key === null ? null : networkFirst(caches, key, req);
}


async function networkFirst(caches: CacheStorage, key: string, req: Request): Promise<Response> {
  try {
    const res = await fetch(req.mode === "navigate" ? key : req, { cache: "no-store" });
    if (res.ok) await (await caches.open(CACHE)).put(key, res.clone());
    return res;
  } catch (e) {
    const cached = await caches.match(key);
    if (cached !== undefined) return cached;
    throw e;
  }
}
