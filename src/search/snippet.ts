/**
 * Snippets: the words of a section around the first one that matches a
 * query term, cut to a fixed budget, as FTS5's snippet() would (which costs
 * a query per hit: cutting them here was the biggest win of the first
 * search profile).
 */
import type { QueryTerm } from "./query.ts";
import { excerpt } from "./plaintext.ts";

/** Most characters of a snippet. */
export const SNIPPET_MAX_CHARS = 300;
/** Tokens in a snippet, as in FTS5's snippet() this replaces. */
const SNIPPET_TOKENS = 28;
/** Characters of context kept before the first matching word of a snippet. */
const SNIPPET_LEAD_CHARS = 40;

/** Finds where a snippet should start: the first word of a text that begins with a query term's stem. */
export interface WordFinder {
  /** Index of the first such word in `text`, or -1. */
  find(text: string): number;
}

/** A letter, digit or mark: what a matching word must not follow, and what tokens are made of (roughly unicode61's). */
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/**
 * A {@link WordFinder} for the terms: a word starting, case-insensitively,
 * with one of the terms' stems (see {@link roughStem}), or `null` for no
 * usable term.
 *
 * The stems are looked for with a plain alternation, and the character
 * before each candidate is checked here: one expression with a Unicode
 * lookbehind said the same, but runs in the regex interpreter, and was the
 * largest cost of a search.
 */
export function wordFinder(terms: readonly QueryTerm[]): WordFinder | null {
  const stems = new Set<string>();
  for (const term of terms) {
    for (let i = 0; i < term.words.length; i++) {
      const word = term.words[i]!.toLowerCase();
      stems.add(term.prefix && i === term.words.length - 1 ? word : roughStem(word));
    }
  }
  stems.delete("");
  if (stems.size === 0) return null;
  const candidates = new RegExp([...stems].map((stem) => stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gi");
  return {
    find(text: string): number {
      candidates.lastIndex = 0;
      for (let found = candidates.exec(text); found !== null; found = candidates.exec(text)) {
        if (found.index === 0 || !isWordChar(text, found.index - 1)) return found.index;
        // Try again one character later: a stem may also start inside this match.
        candidates.lastIndex = found.index + 1;
      }
      return -1;
    },
  };
}

/** Whitespace other than single spaces. */
const NOT_ONE_LINE = /[^\S ]|  /;

function isWordChar(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
  // Either half of a surrogate pair stands for the whole character.
  if (c >= 0xd800 && c <= 0xdbff) return WORD_CHAR.test(text.slice(at, at + 2));
  if (c >= 0xdc00 && c <= 0xdfff && at > 0) return WORD_CHAR.test(text.slice(at - 1, at + 1));
  return WORD_CHAR.test(text[at]!);
}

/** Suffixes stripped by {@link roughStem}, longest first. */
const SUFFIXES = ["ational", "ations", "ation", "ingly", "ness", "ment", "ings", "able", "ible", "ing", "ers", "ies", "ed", "es", "er", "ly", "al", "s", "e", "y"];

/**
 * A crude stand-in for the Porter stemmer the index uses, good enough to find
 * a snippet's word: strips one common suffix while at least 3 letters remain
 * (`renewing`, `renewal` → `renew`; `caching`, `cache` → `cach`).
 */
function roughStem(word: string): string {
  if (word.length <= 3) return word;
  for (const suffix of SUFFIXES) {
    if (word.length - suffix.length >= 3 && word.endsWith(suffix)) return word.slice(0, -suffix.length);
  }
  return word;
}

/**
 * At most {@link SNIPPET_MAX_CHARS} of one-line text from `body`, starting a
 * few words before the first match of `finder` (or at the beginning).
 */
export function snippetOf(body: string, finder: WordFinder | null): string {
  let start = 0;
  const found = finder ? finder.find(body) : -1;
  if (found > SNIPPET_LEAD_CHARS) {
    // Back up to a word start at most SNIPPET_LEAD_CHARS before the match.
    const from = found - SNIPPET_LEAD_CHARS;
    const space = body.slice(from, found).search(/\s\S/);
    start = space >= 0 ? from + space + 1 : found;
  }
  // As long as FTS5's snippet() of SNIPPET_TOKENS tokens used to be: cut
  // where token SNIPPET_TOKENS + 1 starts.
  let end = body.length;
  let tokens = 0;
  let inToken = false;
  for (let i = start; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const wordChar = c < 128 ? (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) : isWordChar(body, i);
    if (wordChar && !inToken && tokens++ === SNIPPET_TOKENS) {
      end = i;
      break;
    }
    inToken = wordChar;
  }
  // Bodies are on one line already (the index stores them so); text of several
  // lines is made one here.
  const slice = body.slice(start, end);
  const text = (NOT_ONE_LINE.test(slice) ? slice.replace(/\s+/g, " ") : slice).trim();
  const lead = start > 0 ? "…" : "";
  const tail = end < body.length ? "…" : "";
  if (lead.length + text.length + tail.length <= SNIPPET_MAX_CHARS) return `${lead}${text}${tail}`;
  return excerpt(`${lead}${text}${tail}`, SNIPPET_MAX_CHARS);
}

