/**
 * Which requests are the app shell, and under which cache key: pure (URLs
 * in, a key out), so it is tested in Node; shell.ts does the caching.
 */

/** Relative to the worker's scope (the page may live under a path prefix). */
export const SHELL = ["./", "app.js", "transit.js", "style.css", "ferry-web.json"];

export interface RequestLike {
  readonly method: string;
  readonly url: string;
  readonly mode: string;
}

/** The cache key of a GET for a shell file (a navigation to the page, whatever its query, is `./`), or null. */
export function shellKey(scope: string, req: RequestLike): string | null {
  if (req.method !== "GET") return null;
  const url = new URL(req.url);
  const root = new URL(scope);
  if (url.origin !== root.origin) return null;
  if (req.mode === "navigate") return url.pathname === root.pathname || url.pathname === root.pathname + "index.html" ? root.href : null;
  const hit = SHELL.map((p) => new URL(p, root).href).find((h) => h === url.origin + url.pathname);
  return hit ?? null;
}
