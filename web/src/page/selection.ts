/**
 * What the user picked or dropped, turned into what is sent: one plain file
 * goes as a `file` offer; several files, or anything inside a folder, go as
 * one `directory` offer whose bytes are a zip built on the fly. Pure: paths
 * in, zip entries out (tested in Node); the DOM walking is in drop-entries.ts.
 */
import { fileSource } from "./byte-source.ts";
import type { ZipItem } from "./zip-writer.ts";

/** A picked file (`file`), or a directory (`null`, kept so empty ones survive), at a `/` path. */
export interface Picked {
  readonly path: string;
  readonly file: File | null;
}

export interface DirSelection {
  readonly dirname: string;
  readonly items: readonly ZipItem[];
  /** Sum of the file sizes, and how many files (directories not counted), as the offer says. */
  readonly numbytes: number;
  readonly numfiles: number;
}

export type Selection = { readonly kind: "file"; readonly file: File } | { readonly kind: "dir"; readonly dir: DirSelection };

/** More entries than this is refused: the walk and the central directory stay bounded. */
export const MAX_ENTRIES = 100_000;
/** The name a loose selection of files travels under (the receiver makes a folder of it). */
export const LOOSE_DIRNAME = "files";
const MAX_PATH = 4096;

/** `/`-separated relative path with no empty, `.` or `..` segment; backslashes and control characters become `_`. */
export function cleanPath(path: string): string | null {
  // eslint-disable-next-line no-control-regex
  const segs = path.split("/").map((s) => s.replace(/[\u0000-\u001f\u007f\\]/g, "_")).filter((s) => s !== "" && s !== ".");
  if (segs.length === 0 || segs.includes("..") || path.length > MAX_PATH) return null;
  return segs.join("/");
}

export function select(picked: readonly Picked[]): Selection | null {
  if (picked.length > MAX_ENTRIES) throw new Error(`Too many files: at most ${MAX_ENTRIES} at once`);
  const clean = picked.flatMap((p) => {
    const path = cleanPath(p.path);
    return path === null ? [] : [{ path, file: p.file }];
  });
  const only = clean[0];
  if (clean.length === 1 && only !== undefined && only.file !== null && !only.path.includes("/")) return { kind: "file", file: only.file };
  if (clean.length === 0) return null;
  return { kind: "dir", dir: dirSelection(clean) };
}

function dirSelection(picked: readonly Picked[]): DirSelection {
  const root = commonRoot(picked);
  const taken = new Set<string>();
  const items: ZipItem[] = [];
  for (const p of picked) {
    const rel = root === null ? p.path : p.path.slice(root.length + 1);
    if (rel === "") continue; // the root folder itself
    const name = freshName(rel, taken);
    items.push(item(name, p.file));
  }
  const files = items.filter((i) => i.entry.kind === "file");
  return { dirname: root ?? LOOSE_DIRNAME, items, numfiles: files.length, numbytes: files.reduce((n, i) => n + i.entry.size, 0) };
}

/** The first segment every path lives under (a picked or dropped folder), or null. */
function commonRoot(picked: readonly Picked[]): string | null {
  const first = picked[0]?.path.split("/")[0];
  if (first === undefined) return null;
  const under = (p: Picked) => p.path.startsWith(first + "/") || (p.path === first && p.file === null);
  return picked.every(under) && picked.some((p) => p.path !== first) ? first : null;
}

function item(name: string, file: File | null): ZipItem {
  if (file === null) return { entry: { name: name + "/", kind: "dir", size: 0, mtime: Date.now() }, open: () => fileSource(new Blob([])) };
  return { entry: { name, kind: "file", size: file.size, mtime: file.lastModified }, open: () => fileSource(file) };
}

/** `name`, or `name (1).ext`, `name (2).ext`… whichever is not taken yet (two drops of `a.txt`). */
export function freshName(name: string, taken: Set<string>): string {
  let out = name;
  for (let n = 1; taken.has(out); n++) out = numbered(name, n);
  taken.add(out);
  return out;
}

export function numbered(name: string, n: number): string {
  const slash = name.lastIndexOf("/") + 1;
  const dot = name.lastIndexOf(".");
  const cut = dot > slash ? dot : name.length;
  return `${name.slice(0, cut)} (${n})${name.slice(cut)}`;
}
