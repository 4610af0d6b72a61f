/**
 * The files and folders of a drop, walked recursively through the
 * File and Directory Entries API (`webkitGetAsEntry`, in every current
 * browser). Bounded: at most `MAX_ENTRIES` entries and `MAX_DEPTH` levels,
 * so dropping a home folder fails quickly instead of walking the disk.
 */
import { MAX_ENTRIES, type Picked } from "./selection.ts";

const MAX_DEPTH = 32;

/**
 * Must be called inside the drop handler: the items are gone once it returns.
 * An item with no entry (a browser without the API, a synthetic drop) is taken as a plain file.
 */
export function droppedEntries(dt: DataTransfer): (FileSystemEntry | File)[] {
  return Array.from(dt.items).flatMap((item) => {
    if (item.kind !== "file") return [];
    const entry = item.webkitGetAsEntry() ?? item.getAsFile();
    return entry === null ? [] : [entry];
  });
}

export async function walkEntries(roots: readonly (FileSystemEntry | File)[]): Promise<Picked[]> {
  const out: Picked[] = [];
  for (const root of roots) {
    if (root instanceof File) out.push({ path: root.name, file: root });
    else await walk(root, root.name, 0, out);
  }
  return out;
}

async function walk(entry: FileSystemEntry, path: string, depth: number, out: Picked[]): Promise<void> {
  if (out.length >= MAX_ENTRIES) throw new Error(`Too many files: at most ${MAX_ENTRIES} at once`);
  if (entry.isFile) return void out.push({ path, file: await fileOf(entry as FileSystemFileEntry) });
  if (!entry.isDirectory) return;
  if (depth >= MAX_DEPTH) throw new Error(`Folders nested deeper than ${MAX_DEPTH} levels are not sent`);
  const children = await readAll(entry as FileSystemDirectoryEntry);
  if (children.length === 0) out.push({ path, file: null }); // keep empty folders
  for (const child of children) await walk(child, `${path}/${child.name}`, depth + 1, out);
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** `readEntries` returns a batch (100 in Chromium) per call, until an empty one. */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
    if (all.length > MAX_ENTRIES) throw new Error(`Too many files: at most ${MAX_ENTRIES} at once`);
  }
}
