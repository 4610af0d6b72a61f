import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chooseWords, completeCode, completeWords, generateCode, isWord, parseCode, wordFor,
} from "../src/wormhole/code.ts";
import { WormholeError } from "../src/wormhole/errors.ts";
import { WORDS } from "../src/wormhole/wordlist.ts";
import { kat, replay, seeded, unhex } from "./kat.ts";

test("the word list is Python's raw_words, lower-cased, pair by pair", () => {
  const python = kat().wordlist;
  assert.equal(python.length, 256);
  assert.equal(WORDS.length, 256);
  python.forEach(([even, odd], byte) => {
    assert.deepEqual(WORDS[byte], [even.toLowerCase(), odd.toLowerCase()], `byte ${byte}`);
  });
  assert.equal(new Set(WORDS.flat()).size, 512);
});

test("choose_words KATs: known bytes give Python's words, odd column first", () => {
  const vectors = kat().choose_words;
  assert.equal(vectors.length, 4);
  for (const v of vectors) {
    const bytes = unhex(v.bytes);
    assert.equal(chooseWords(bytes.length, replay(bytes)), v.words, v.bytes);
  }
  assert.equal(wordFor(0, 0), "adroitness");
  assert.equal(wordFor(1, 0), "aardvark");
});

test("get_completions KATs, both code lengths", () => {
  const vectors = kat().completions;
  assert.equal(vectors.length, 22);
  for (const v of vectors) {
    assert.deepEqual(completeWords(v.prefix, v.num_words), v.completions, `${JSON.stringify(v.prefix)}/${v.num_words}`);
  }
});

test("whole-code completion needs a finished nameplate", () => {
  assert.deepEqual(completeCode("7-gui"), ["7-guitarist-"]);
  assert.deepEqual(completeCode("7-guitarist-rev"), ["7-guitarist-revenge"]);
  assert.deepEqual(completeCode("7"), []);
  assert.deepEqual(completeCode("x-gui"), []);
});

test("generated codes are nameplate plus words from the random bytes", () => {
  const code = generateCode("7", 2, replay(Uint8Array.of(0x68, 0xa3)));
  assert.deepEqual(code, { nameplate: "7", code: `7-gravity-${wordFor(1, 0xa3)}` });
  const random = generateCode("12", 3, seeded(3));
  assert.deepEqual(parseCode(random.code), random);
  assert.throws(() => generateCode("7x", 2, seeded(1)), WormholeError);
});

test("typing is forgiving: separators and list-word case", () => {
  for (const typed of ["7 Guitarist REVENGE", "  7-guitarist-revenge\n", "7 - guitarist -- revenge", "7\tGUITARIST\u00a0Revenge"]) {
    assert.deepEqual(parseCode(typed), { nameplate: "7", code: "7-guitarist-revenge" }, JSON.stringify(typed));
  }
  // Custom words keep their case and are not checked against the list.
  assert.deepEqual(parseCode("0123-Anything_goes-here-ß"), { nameplate: "0123", code: "0123-Anything_goes-here-ß" });
  assert.ok(isWord("Yucatan") && !isWord("guitarst"));
});

function refusal(typed: string): string {
  try {
    parseCode(typed);
  } catch (e) {
    assert.ok(e instanceof WormholeError);
    assert.equal(e.fault, "local");
    assert.ok(!e.message.includes("secret"), "errors never echo the code");
    return e.code;
  }
  assert.fail(`accepted ${JSON.stringify(typed)}`);
}

test("bad codes are refused without repeating them", () => {
  assert.equal(refusal("   "), "code-empty");
  assert.equal(refusal("7-a\u0000b"), "code-control");
  assert.equal(refusal("-secret"), "code-no-nameplate");
  assert.equal(refusal("x7-secret"), "code-bad-nameplate");
  assert.equal(refusal("1".repeat(41) + "-secret"), "code-long-nameplate");
  assert.equal(refusal("7"), "code-no-words");
  assert.equal(refusal("7-"), "code-no-words");
});
