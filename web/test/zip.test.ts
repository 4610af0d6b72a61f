import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";
import type { ByteSource } from "../src/page/byte-source.ts";
import { crc32, Crc32 } from "../src/page/crc32.ts";
import { centralHeader, endRecords, entrySpan, localHeader, zipSize, type ZipEntry } from "../src/page/zip-records.ts";
import { zipSource, type ZipItem } from "../src/page/zip-writer.ts";
import { centralDirectory, dataStart, entryPath, printable, findEnd, LOCAL_HEADER_LEN, tailRange, zip64End, ZIP64_END_LEN, ZipError, type CentralEntry } from "../src/page/zip-reader.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const T = Date.UTC(2024, 5, 1, 12, 0, 0);

function bytesSource(data: Uint8Array, chunk = 7): ByteSource {
  let off = 0;
  return {
    size: data.length,
    read: async () => (off >= data.length ? null : data.subarray(off, (off += chunk))),
  };
}

function fileItem(name: string, data: Uint8Array): ZipItem {
  return { entry: { name, kind: "file", size: data.length, mtime: T }, open: () => bytesSource(data) };
}

const dirItem = (name: string): ZipItem => ({ entry: { name, kind: "dir", size: 0, mtime: T }, open: () => bytesSource(new Uint8Array()) });

async function drain(src: ByteSource): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let c = await src.read(); c !== null; c = await src.read()) parts.push(c);
  return Buffer.concat(parts);
}

/** Our reader over an in-memory archive: names and (stored) contents. */
function readZip(zip: Uint8Array): { entries: CentralEntry[]; data: Map<string, Uint8Array> } {
  const [from] = tailRange(zip.length);
  let loc = findEnd(zip.subarray(from), from, zip.length);
  if ("zip64At" in loc) loc = zip64End(zip.subarray(loc.zip64At, loc.zip64At + ZIP64_END_LEN), loc.zip64At);
  const entries = centralDirectory(zip.subarray(loc.offset, loc.offset + loc.size), loc);
  const data = new Map<string, Uint8Array>();
  for (const e of entries) {
    const start = dataStart(zip.subarray(e.localOffset, e.localOffset + LOCAL_HEADER_LEN), e, loc.offset);
    data.set(e.name, zip.subarray(start, start + e.csize));
  }
  return { entries, data };
}

/** Python's zipfile: testzip, then each name with its size and hex CRC. */
function pythonList(zip: Uint8Array): Record<string, [number, string]> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-zip-"));
  try {
    writeFileSync(join(dir, "a.zip"), zip);
    const script = "import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename:[len(z.read(i)),z.read(i).hex()[:40]] for i in z.infolist()}))";
    return JSON.parse(execFileSync("python3", ["-c", script, join(dir, "a.zip")], { encoding: "utf8", maxBuffer: 64 << 20 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("crc32 matches the check value and runs incrementally", () => {
  assert.equal(crc32(utf8("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
  assert.equal(new Crc32().update(utf8("1234")).update(utf8("56789")).digest(), 0xcbf43926);
  // The 8-byte loop against zlib's CRC (Node's), at every length and split around the 8-byte steps.
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
  for (const len of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 999, 1000]) {
    const want = zlibCrc32(data.subarray(0, len));
    assert.equal(crc32(data.subarray(0, len)), want, `length ${len}`);
    const cut = Math.floor(len / 3);
    assert.equal(new Crc32().update(data.subarray(0, cut)).update(data.subarray(cut, len)).digest(), want, `length ${len} in two`);
  }
});

const tree = () => [
  dirItem("sub/"),
  fileItem("sub/deeper/b.bin", Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff)),
  fileItem("héllo wörld ✓.txt", utf8("unicode name\n")),
  fileItem("empty", new Uint8Array()),
  fileItem("a.txt", utf8("alpha\n")),
];

test("the zip is exactly the predicted size, and Python's zipfile reads it back", async () => {
  const src = zipSource(tree());
  const zip = await drain(src);
  assert.equal(zip.length, src.size);
  const listed = pythonList(zip);
  assert.deepEqual(Object.keys(listed).sort(), ["a.txt", "empty", "héllo wörld ✓.txt", "sub/", "sub/deeper/b.bin"]);
  assert.equal(listed["a.txt"]?.[1], Buffer.from("alpha\n").toString("hex"));
  assert.equal(listed["sub/deeper/b.bin"]?.[0], 70_000);
  assert.equal(listed["empty"]?.[0], 0);
  // Info-ZIP's unzip too (a third reader), where installed.
  const dir = mkdtempSync(join(tmpdir(), "ferry-unzip-"));
  try {
    writeFileSync(join(dir, "t.zip"), zip);
    assert.match(execFileSync("unzip", ["-t", join(dir, "t.zip")], { encoding: "utf8" }), /No errors detected/);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("our reader reads the writer's zip: names, methods, sizes, CRCs, data", async () => {
  const items = tree();
  const { entries, data } = readZip(await drain(zipSource(items)));
  assert.deepEqual(entries.map((e) => e.name), items.map((i) => i.entry.name));
  assert.ok(entries.every((e) => e.method === 0));
  assert.equal(data.get("a.txt")?.toString(), Buffer.from("alpha\n").toString());
  assert.equal(entries.find((e) => e.name === "a.txt")?.crc, crc32(utf8("alpha\n")));
});

test("a source that yields other than its declared size fails the zip", async () => {
  const lying: ZipItem = { entry: { name: "x", kind: "file", size: 10, mtime: T }, open: () => bytesSource(new Uint8Array(5)) };
  await assert.rejects(drain(zipSource([lying])), /changed while being sent/);
  const longer: ZipItem = { entry: { name: "y", kind: "file", size: 3, mtime: T }, open: () => bytesSource(new Uint8Array(5)) };
  await assert.rejects(drain(zipSource([longer])), /changed while being sent/);
});

test("more than 65535 entries gets ZIP64 end records that Python accepts", async () => {
  const items = Array.from({ length: 65_600 }, (_, i) => fileItem(`f${i}`, new Uint8Array()));
  const src = zipSource(items);
  const zip = await drain(src);
  assert.equal(zip.length, src.size);
  assert.equal(Object.keys(pythonList(zip)).length, 65_600);
  assert.equal(readZip(zip).entries.length, 65_600);
});

test("ZIP64 sizes and offsets: header arithmetic for a 5 GiB file, without its bytes", () => {
  const big: ZipEntry = { name: "big.bin", kind: "file", size: 5 * 2 ** 30, mtime: T };
  const small: ZipEntry = { name: "after.txt", kind: "file", size: 3, mtime: T };
  const local = localHeader(big);
  assert.equal(local.length, 30 + 7 + 20, "local header carries a 16-byte ZIP64 extra");
  assert.equal(Buffer.from(local).readUInt16LE(4), 45);
  assert.equal(Buffer.from(local).readUInt32LE(22), 0xffffffff);
  assert.equal(entrySpan(big), local.length + big.size + 24, "a ZIP64 descriptor has 8-byte sizes");
  const offset2 = entrySpan(big);
  const cd1 = centralHeader(big, 0x1234, 0);
  const cd2 = centralHeader(small, 0x5678, offset2);
  assert.equal(cd1.length, 46 + 7 + 4 + 16, "sizes move to the extra");
  assert.equal(cd2.length, 46 + 9 + 4 + 8, "the offset moves to the extra");
  const cdOffset = offset2 + entrySpan(small);
  const end = endRecords(2, cdOffset, cd1.length + cd2.length);
  assert.equal(end.length, 56 + 20 + 22);
  assert.equal(zipSize([big, small]), cdOffset + cd1.length + cd2.length + end.length);
  // The reader gets the same numbers back from the central directory and the end records alone.
  const tail = Buffer.concat([cd1, cd2, end]);
  const size = cdOffset + tail.length;
  const loc = findEnd(tail, cdOffset, size);
  assert.ok("zip64At" in loc && loc.zip64At === cdOffset + cd1.length + cd2.length);
  const at = loc.zip64At - cdOffset;
  const where = zip64End(tail.subarray(at, at + ZIP64_END_LEN), loc.zip64At);
  assert.deepEqual(where, { count: 2, offset: cdOffset, size: cd1.length + cd2.length });
  const entries = centralDirectory(tail.subarray(0, where.size), where);
  assert.deepEqual(
    entries.map((e) => [e.name, e.usize, e.csize, e.localOffset, e.crc]),
    [["big.bin", big.size, big.size, 0, 0x1234], ["after.txt", 3, 3, offset2, 0x5678]],
  );
});

test("hostile names are refused as paths; ordinary ones become segments", () => {
  for (const bad of ["../evil", "a/../../evil", "/etc/passwd", "\\abs", "C:/Windows/x", "c:evil", "a\\..\\..\\evil", "bad\u0000name", "tab\there", ""]) {
    assert.equal(entryPath(bad).ok, false, bad);
  }
  assert.deepEqual(entryPath("photos/./sub//b.bin"), { ok: true, segments: ["photos", "sub", "b.bin"], dir: false });
  assert.deepEqual(entryPath("win\\style\\f.txt"), { ok: true, segments: ["win", "style", "f.txt"], dir: false });
  assert.deepEqual(entryPath("sub/"), { ok: true, segments: ["sub"], dir: true });
  assert.equal(entryPath("x".repeat(256)).ok, false);
});

test("a hostile zip still parses; its names are what entryPath refuses, duplicates are kept for the unpacker", async () => {
  const names = ["../evil", "/abs", "C:/x", "ok.txt", "ok.txt"];
  const { entries } = readZip(await drain(zipSource(names.map((n) => fileItem(n, utf8(n))))));
  assert.deepEqual(entries.map((e) => e.name), names);
  assert.deepEqual(entries.map((e) => entryPath(e.name).ok), [false, false, false, true, true]);
});

test("entry sizes that lie are refused", async () => {
  const zip = await drain(zipSource([fileItem("a", utf8("abc")), fileItem("b", utf8("def"))]));
  const cdAt = (z: Uint8Array) => {
    const [from] = tailRange(z.length);
    const loc = findEnd(z.subarray(from), from, z.length);
    assert.ok(!("zip64At" in loc));
    return loc.offset;
  };
  const patched = (field: number, v: number) => {
    const z = Buffer.from(zip);
    z.writeUInt32LE(v, cdAt(zip) + field);
    return z;
  };
  assert.throws(() => readZip(patched(20, 1 << 30)), ZipError, "compressed size past the archive");
  assert.throws(() => readZip(patched(24, 99)), /stored sizes disagree/);
  const both = patched(20, 1 << 20);
  both.writeUInt32LE(1 << 20, cdAt(zip) + 24);
  assert.throws(() => readZip(both), /outside the archive/);
  assert.throws(() => readZip(patched(42, zip.length)), /outside the archive/, "local offset past the end");
  assert.throws(() => readZip(zip.subarray(0, zip.length - 1)), /not a zip/);
  const { entries } = readZip(zip);
  const loc = { count: 2, offset: cdAt(zip), size: zip.length - 22 - cdAt(zip) };
  assert.throws(() => centralDirectory(zip.subarray(loc.offset), loc, { maxEntries: 1, maxEntrySize: 10, maxTotal: 10 }), /too many entries/);
  assert.throws(() => centralDirectory(zip.subarray(loc.offset), loc, { maxEntries: 9, maxEntrySize: 2, maxTotal: 10 }), /3 bytes, more than allowed/);
  assert.throws(() => centralDirectory(zip.subarray(loc.offset), loc, { maxEntries: 9, maxEntrySize: 9, maxTotal: 5 }), /add up/);
  assert.equal(entries.length, 2);
});

test("an unknown compression method and encryption are refused", async () => {
  const zip = Buffer.from(await drain(zipSource([fileItem("a", utf8("abc"))])));
  const [from] = tailRange(zip.length);
  const loc = findEnd(zip.subarray(from), from, zip.length);
  assert.ok(!("zip64At" in loc));
  const m = Buffer.from(zip);
  m.writeUInt16LE(12, loc.offset + 10); // bzip2
  assert.throws(() => readZip(m), /method 12/);
  const e = Buffer.from(zip);
  e.writeUInt16LE(e.readUInt16LE(loc.offset + 8) | 1, loc.offset + 8);
  assert.throws(() => readZip(e), /encrypted/);
});

test("a Unix symlink entry is marked, so the unpacker can refuse it", async () => {
  const zip = Buffer.from(await drain(zipSource([fileItem("link", utf8("/etc/passwd")), fileItem("plain", utf8("x"))])));
  const [from] = tailRange(zip.length);
  const loc = findEnd(zip.subarray(from), from, zip.length);
  assert.ok(!("zip64At" in loc));
  zip.writeUInt32LE(0o120777 * 0x10000, loc.offset + 38); // the first entry's external attributes
  assert.deepEqual(readZip(zip).entries.map((e) => e.symlink), [true, false]);
});

// Opt-in (FERRY_ZIP64_TEST=1; writes a 4 GiB file to the temp dir, ~30 s): a real ZIP64
// archive, a 4 GiB + 1 MiB entry then a small one past the 4 GiB offset, read back by Python.
test("a real 4 GiB entry streams as ZIP64 that Python's zipfile verifies", { skip: !process.env.FERRY_ZIP64_TEST }, async () => {
  const { open } = await import("node:fs/promises");
  const zeros = new Uint8Array(8 << 20);
  const bigSize = 2 ** 32 + (1 << 20);
  const big: ZipItem = {
    entry: { name: "big.bin", kind: "file", size: bigSize, mtime: T },
    open: () => {
      let left = bigSize;
      const read = async () => {
        if (left === 0) return null;
        const n = Math.min(zeros.length, left);
        left -= n;
        return zeros.subarray(0, n); // the same zeros each time: nothing is held
      };
      return { size: bigSize, read };
    },
  };
  const dir = mkdtempSync(join(tmpdir(), "ferry-zip64-"));
  try {
    const src = zipSource([big, fileItem("after.txt", utf8("after\n"))]);
    const out = await open(join(dir, "big.zip"), "w");
    let n = 0;
    for (let c = await src.read(); c !== null; c = await src.read()) (await out.write(c), (n += c.length));
    await out.close();
    assert.equal(n, src.size);
    const script = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint([(i.filename,i.file_size,i.header_offset) for i in z.infolist()])";
    const listed = execFileSync("python3", ["-c", script, join(dir, "big.zip")], { encoding: "utf8" });
    assert.match(listed, new RegExp(`\\('big\\.bin', ${bigSize}, 0\\), \\('after\\.txt', 6, ${bigSize + 30 + 7 + 20 + 24}\\)`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("peer names are shown without control or bidi-override characters, and cut", () => {
  assert.equal(printable("evil\u202etxt.exe"), "evil\ufffdtxt.exe");
  assert.equal(printable("a\u0000b\nc"), "a\ufffdb\ufffdc");
  assert.equal(printable("x".repeat(300)).length, 201);
  assert.equal(printable("héllo ✓"), "héllo ✓");
});
