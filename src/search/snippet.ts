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
/** A token of the unicode61 tokenizer, roughly. */
const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;
/** Characters of context kept before the first matching word of a snippet. */
const SNIPPET_LEAD_CHARS = 40;

/**
 * A regular expression finding, case-insensitively, the start of a word that
 * begins with one of the terms' stems (see {@link roughStem}), or `null` for no
 * usable term. Group i + 1 matches term i.
 */
export function wordFinder(terms: readonly QueryTerm[]): RegExp | null {
  const stems = new Set<string>();
  for (const term of terms) {
    for (let i = 0; i < term.words.length; i++) {
      const word = term.words[i]!;
      stems.add(term.prefix && i === term.words.length - 1 ? word : roughStem(word));
    }
  }
  if (stems.size === 0) return null;
  const alternatives = [...stems].map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`(?<![\\p{L}\\p{N}\\p{M}])(?:${alternatives.join("|")})`, "giu");
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
export function snippetOf(body: string, finder: RegExp | null): string {
  let start = 0;
  if (finder) {
    finder.lastIndex = 0;
    const found = finder.exec(body);
    if (found && found.index > SNIPPET_LEAD_CHARS) {
      // Back up to a word start at most SNIPPET_LEAD_CHARS before the match.
      const from = found.index - SNIPPET_LEAD_CHARS;
      const space = body.slice(from, found.index).search(/\s\S/);
      start = space >= 0 ? from + space + 1 : found.index;
    }
  }
  // As long as FTS5's snippet() of SNIPPET_TOKENS tokens used to be.
  TOKEN.lastIndex = start;
  let end = body.length;
  for (let n = 0; n <= SNIPPET_TOKENS; n++) {
    const token = TOKEN.exec(body);
    if (token === null) break;
    if (n === SNIPPET_TOKENS) end = token.index;
  }
  // Cut before the first token past the budget, and say so.
  const text = end < body.length ? `${body.slice(start, end).trimEnd()}…` : body.slice(start);
  return excerpt(`${start > 0 ? "…" : ""}${text}`, SNIPPET_MAX_CHARS);
}

