import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanPath, freshName, LOOSE_DIRNAME, numbered, select, type Picked } from "../src/page/selection.ts";
import { zipSource } from "../src/page/zip-writer.ts";

const file = (name: string, body = "x") => new File([body], name, { lastModified: Date.UTC(2024, 0, 2) });
const picked = (path: string, body?: string): Picked => ({ path, file: file(path.split("/").pop() as string, body) });

test("one plain file goes as a file offer", () => {
  const sel = select([picked("a.txt")]);
  assert.equal(sel?.kind, "file");
});

test("a picked folder goes as a directory named after it, paths relative to it", () => {
  const sel = select([picked("photos/a.txt", "abc"), picked("photos/sub/b.bin", "defg"), { path: "photos/empty", file: null }]);
  assert.ok(sel?.kind === "dir");
  assert.equal(sel.dir.dirname, "photos");
  assert.deepEqual(sel.dir.items.map((i) => i.entry.name), ["a.txt", "sub/b.bin", "empty/"]);
  assert.equal(sel.dir.numfiles, 2);
  assert.equal(sel.dir.numbytes, 7);
});

test("a single file inside a folder still goes as a directory (the folder is what was picked)", () => {
  const sel = select([picked("photos/a.txt")]);
  assert.ok(sel?.kind === "dir");
  assert.equal(sel.dir.dirname, "photos");
});

test("loose files, or files beside folders, go under a made-up folder name; duplicates get fresh names", () => {
  const sel = select([picked("a.txt"), picked("b.txt"), picked("a.txt"), picked("dir/c.txt")]);
  assert.ok(sel?.kind === "dir");
  assert.equal(sel.dir.dirname, LOOSE_DIRNAME);
  assert.deepEqual(sel.dir.items.map((i) => i.entry.name), ["a.txt", "b.txt", "a (1).txt", "dir/c.txt"]);
});

test("paths are cleaned: no empty, . or .. segments, no backslashes or control characters", () => {
  assert.equal(cleanPath("/a//./b"), "a/b");
  assert.equal(cleanPath("a/../b"), null);
  assert.equal(cleanPath(""), null);
  assert.equal(cleanPath("we\\ird\u0001"), "we_ird_");
  assert.equal(select([{ path: "..", file: file("x") }]), null);
});

test("fresh names keep the extension and the folder", () => {
  assert.equal(numbered("a/b.tar.gz", 2), "a/b.tar (2).gz");
  assert.equal(numbered("dir.d/noext", 1), "dir.d/noext (1)");
  assert.equal(numbered(".hidden", 1), ".hidden (1)");
  const taken = new Set<string>();
  assert.deepEqual(["x", "x", "x"].map((n) => freshName(n, taken)), ["x", "x (1)", "x (2)"]);
});

test("the zip of a selection streams the files' bytes", async () => {
  const sel = select([picked("p/a.txt", "hello"), picked("p/b.txt", "")]);
  assert.ok(sel?.kind === "dir");
  const src = zipSource(sel.dir.items);
  let n = 0;
  for (let c = await src.read(); c !== null; c = await src.read()) n += c.length;
  assert.equal(n, src.size);
});
