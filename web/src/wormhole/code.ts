/**
 * Wormhole codes: `NAMEPLATE-WORD-WORD…`, e.g. `7-guitarist-revenge`.
 *
 * The nameplate (the digits before the first `-`) names the mailbox and is
 * public; the **whole** code is the SPAKE2 password. Words are never checked
 * against the list: any text after the nameplate is a valid custom code.
 *
 * Typing is forgiving in the same way as ferry's CLI (ferry-proto code.rs):
 * runs of spaces or hyphens become one hyphen and list words are lower-cased
 * (no client generates capitals), while other words keep their case.
 */

import { localError } from "./errors.ts";
import { systemRandom, type Random } from "./random.ts";
import { WORDS } from "./wordlist.ts";

/** The server refuses longer nameplates (it drops the connection). */
export const MAX_NAMEPLATE_LEN = 40;
/** What every client generates unless asked otherwise. */
export const DEFAULT_CODE_WORDS = 2;

export interface Code {
  /** Decimal digits, as the server names the mailbox. */
  readonly nameplate: string;
  /** The whole normalised code: the password. */
  readonly code: string;
}

export function isNameplate(text: string): boolean {
  return /^[0-9]+$/.test(text) && text.length <= MAX_NAMEPLATE_LEN;
}

/** Word at `position` for `byte`: the three-syllable "odd" column first, as Python's choose_words. */
export function wordFor(position: number, byte: number): string {
  const pair = WORDS[byte];
  if (pair === undefined) throw localError("bad-byte", "a word encodes one byte, 0 to 255");
  return position % 2 === 0 ? pair[1] : pair[0];
}

const ALL_WORDS = new Set(WORDS.flat());

/** On the list, in either column, in any case. */
export function isWord(text: string): boolean {
  return ALL_WORDS.has(text.toLowerCase());
}

/** Separators collapsed to single hyphens, list words in lower case. */
export function normaliseCode(typed: string): string {
  return typed
    .split(/[\s-]+/u)
    .filter((part) => part !== "")
    .map((part) => (isWord(part) ? part.toLowerCase() : part))
    .join("-");
}

// Control characters other than whitespace (which normalising removes).
const CONTROL = /[^\P{Cc}\s]/u;

/** Parses a typed or pasted code. Errors never repeat the input: it is a secret. */
export function parseCode(typed: string): Code {
  const trimmed = typed.trim();
  if (trimmed === "") throw localError("code-empty", "the code is empty");
  if (CONTROL.test(trimmed)) throw localError("code-control", "the code must not contain control characters");
  if (trimmed.startsWith("-")) throw localError("code-no-nameplate", "the code must start with the nameplate number, like 7-guitarist-revenge");
  const code = normaliseCode(trimmed);
  const dash = code.indexOf("-");
  const nameplate = dash < 0 ? code : code.slice(0, dash);
  if (!/^[0-9]+$/.test(nameplate)) throw localError("code-bad-nameplate", "the nameplate (the part before the first '-') must be a number");
  if (nameplate.length > MAX_NAMEPLATE_LEN) throw localError("code-long-nameplate", `the nameplate has more than ${MAX_NAMEPLATE_LEN} digits`);
  if (dash < 0) throw localError("code-no-words", "the code needs words after the nameplate, like 7-guitarist-revenge");
  return { nameplate, code };
}

/** `count` words from `count` random bytes, alternating odd/even columns. */
export function chooseWords(count: number, random: Random = systemRandom): string {
  const bytes = random(count);
  return Array.from(bytes, (byte, position) => wordFor(position, byte)).join("-");
}

/** A fresh code around a nameplate the server allocated. */
export function generateCode(nameplate: string, words = DEFAULT_CODE_WORDS, random: Random = systemRandom): Code {
  if (!isNameplate(nameplate)) throw localError("code-bad-nameplate", "the server allocated a nameplate that is not a number");
  if (!Number.isInteger(words) || words < 1) throw localError("code-no-words", "a code needs at least one word");
  return { nameplate, code: `${nameplate}-${chooseWords(words, random)}` };
}

/**
 * Completions of the words typed after `nameplate-`, as Python's
 * `PGPWordList.get_completions`: the word being typed is matched (case-
 * sensitively) against its position's column, and a `-` follows while more
 * words are expected. Sorted.
 */
export function completeWords(prefix: string, numWords = DEFAULT_CODE_WORDS): string[] {
  const position = prefix.split("-").length - 1;
  const partial = prefix.slice(prefix.lastIndexOf("-") + 1);
  const stem = prefix.slice(0, prefix.length - partial.length);
  const hyphen = position + 1 < numWords ? "-" : "";
  return WORDS.map((pair) => (position % 2 === 0 ? pair[1] : pair[0]))
    .filter((word) => word.startsWith(partial))
    .map((word) => `${stem}${word}${hyphen}`)
    .sort();
}

/** Completions of a whole code being typed, once its nameplate is finished with `-`. */
export function completeCode(partial: string, numWords = DEFAULT_CODE_WORDS): string[] {
  const dash = partial.indexOf("-");
  if (dash < 0 || !isNameplate(partial.slice(0, dash))) return [];
  const nameplate = partial.slice(0, dash + 1);
  return completeWords(partial.slice(dash + 1), numWords).map((words) => nameplate + words);
}
