/**
 * Turning arbitrary user text into FTS5 query expressions.
 *
 * FTS5 has its own query language (`AND`, `NEAR(…)`, `col:`, `^`, `*`, quotes,
 * parentheses), and a syntax error there is an exception, not an empty result.
 * Rather than escaping that language, we never let user text reach it: the text
 * is cut into words here, and each term goes to FTS5 as a quoted string, whose
 * only special character is `"` (and our words contain none).
 */
import { STOP_WORDS } from "./stopwords.ts";

/** One term of the query: a word, or the phrase of a compound such as `next.js`. */
export interface QueryTerm {
  /** Lowercased words (letters, digits, marks); more than one for a compound's phrase. */
  words: readonly string[];
  /** Match any indexed token starting with the last word (after stemming, see {@link termExpression}). */
  prefix: boolean;
}

export interface ParseOptions {
  /** Most terms kept, so that pasted pages stay cheap to search. Default and maximum {@link MAX_TERMS}. */
  maxTerms?: number;
  /**
   * Treat the last word as a prefix when the text does not end in a space or
   * punctuation, as in search-as-you-type. Default `false`.
   */
  prefixLast?: boolean;
}

/** Cap on the number of query terms (the ranking keeps one bit per term in a 32-bit mask). */
export const MAX_TERMS = 32;
/**
 * Characters of a query that are searched; the rest is ignored. A question
 * is a sentence or two; a pasted page or log would cost CPU in proportion
 * to its length before a single term is looked up.
 */
export const MAX_QUERY_CHARS = 512;

/**
 * The part of `text` that is searched: at most {@link MAX_QUERY_CHARS}
 * characters, cut before a word rather than inside one.
 */
export function searchedText(text: string): { text: string; cut: boolean } {
  if (text.length <= MAX_QUERY_CHARS) return { text, cut: false };
  const head = text.slice(0, MAX_QUERY_CHARS + 1);
  const space = head.search(/\s\S*$/);
  return { text: space > MAX_QUERY_CHARS / 2 ? head.slice(0, space) : head.slice(0, MAX_QUERY_CHARS), cut: true };
}
/** Longer "words" are noise (base64, hashes); they are cut to this length. */
export const MAX_WORD_LENGTH = 64;
/** Shorter prefixes would expand to a large part of the vocabulary. */
export const MIN_PREFIX_LENGTH = 2;

/**
 * A word, or words joined by `-./_@` without spaces (`server-sent`, `next.js`,
 * `c.req.query`), and an optional `*` right after it. Anything else separates.
 */
const COMPOUND = /[\p{L}\p{N}\p{M}]+(?:[-./_@][\p{L}\p{N}\p{M}]+)*(\*)?/gu;
const JOINER = /[-./_@]/;

/**
 * Splits user text into query terms:
 *
 * - lowercased words; a compound gives its words and, as an extra term, the
 *   phrase of all of them, which finds the compound itself far more precisely;
 * - stop words removed, unless nothing else is left (so `"how to"` still
 *   searches for something);
 * - a trailing `*` (on a word of at least {@link MIN_PREFIX_LENGTH} characters)
 *   makes a prefix term, and keeps a stop word;
 * - duplicates removed (asked both plainly and as a prefix, a word stays a prefix),
 *   at most `maxTerms` kept in order of appearance.
 *
 * Only the first {@link MAX_QUERY_CHARS} characters are read (see {@link searchedText}).
 *
 * Total: never throws; returns `[]` only when the text has no letters or digits.
 */
export function parseQuery(query: string, options?: ParseOptions): readonly QueryTerm[] {
  // One search parses its text up to three times (the search, the stop-word
  // test, typo correction): the last few parses are kept, frozen, since
  // parsing runs Unicode regexes in the interpreter.
  if (options === undefined) {
    const cached = recentParses.get(query);
    if (cached) return cached;
    const terms = Object.freeze(parse(query, {}).map((term) => Object.freeze(term)));
    if (recentParses.size >= RECENT_PARSES) recentParses.delete(recentParses.keys().next().value!);
    recentParses.set(query, terms);
    return terms;
  }
  return parse(query, options);
}

const RECENT_PARSES = 64;
const recentParses = new Map<string, readonly QueryTerm[]>();

function parse(query: string, options: ParseOptions): QueryTerm[] {
  const { text } = searchedText(query);
  const maxTerms = Math.min(options.maxTerms ?? MAX_TERMS, MAX_TERMS);
  const meaningful = new Map<string, QueryTerm>();
  const stop = new Map<string, QueryTerm>();
  let last: QueryTerm | undefined;
  let lastEnd = -1;

  const add = (words: string[], prefix: boolean, isStop: boolean): QueryTerm | undefined => {
    const into = isStop ? stop : meaningful;
    const key = words.join(" ");
    const seen = into.get(key);
    if (seen) {
      seen.prefix ||= prefix;
      return seen;
    }
    // Past the cap we keep scanning only for stop words we might fall back to.
    if (into.size >= maxTerms) return undefined;
    const term: QueryTerm = { words, prefix };
    into.set(key, term);
    return term;
  };

  for (const m of text.matchAll(COMPOUND)) {
    const star = m[1] !== undefined;
    const words = (star ? m[0].slice(0, -1) : m[0])
      .split(JOINER)
      .map((w) => w.toLowerCase().slice(0, MAX_WORD_LENGTH));
    let term: QueryTerm | undefined;
    words.forEach((word, i) => {
      const prefix = star && i === words.length - 1 && word.length >= MIN_PREFIX_LENGTH;
      term = add([word], prefix, STOP_WORDS.has(word) && !prefix);
    });
    if (words.length > 1) {
      const phrase = words.slice(0, 8);
      term = add(phrase, star, phrase.every((w) => STOP_WORDS.has(w)));
    }
    last = term;
    lastEnd = m.index + m[0].length;
  }

  const terms = [...(meaningful.size > 0 ? meaningful : stop).values()];
  if (
    options.prefixLast &&
    last &&
    lastEnd === text.length &&
    last.words.at(-1)!.length >= 3 &&
    terms.includes(last)
  ) {
    last.prefix = true;
  }
  return terms;
}

/**
 * The FTS5 expression for one term: a quoted string (a phrase for several
 * words), plus `*` for a prefix. Note that the porter tokenizer stems the prefix
 * too, so `renewing*` looks for `renew*`; a partial word usually stems to itself.
 */
export function termExpression(term: QueryTerm): string {
  const quoted = `"${term.words.join(" ").replaceAll('"', '""')}"`;
  return term.prefix ? `${quoted}*` : quoted;
}
