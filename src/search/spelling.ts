/**
 * Typo tolerance: a query whose words the index does not know is retried
 * with the closest words the index does know ("gracefull shutdwon" →
 * "graceful shutdown"), and the result says so.
 *
 * Corrections are computed only when needed (a word with no match at all),
 * so a well-spelled query costs nothing extra.
 */
import { parseQuery } from "./query.ts";
import { STOP_WORDS } from "./stopwords.ts";
import { MIN_WORD_LENGTH } from "./vocabulary.ts";

/** What correction needs of an index: whether a word matches, and the words it holds. */
export interface Lexicon {
  /** Sections and titles matching `word` as the index stems it; 0 for an unknown word. */
  matchCount(word: string): number;
  /** Words of the indexed text and the number of sections holding each. */
  vocabulary(): ReadonlyMap<string, number>;
}

/** One replaced word. */
export interface WordCorrection {
  from: string;
  to: string;
}

/** A corrected query: the text to search instead, and what changed. */
export interface Correction {
  text: string;
  changes: WordCorrection[];
}

/**
 * Most edits allowed for a word of `length` letters: none up to 3 letters
 * (`jwt`, `kv`: every short word is a short edit from another), one up to 5,
 * two from 6 on.
 */
export function maxEdits(length: number): number {
  if (length < MIN_WORD_LENGTH) return 0;
  return length <= 5 ? 1 : 2;
}

/**
 * The query with each unknown word (no match in any of `lexicons`) replaced
 * by the closest known one: least Damerau-Levenshtein distance within
 * {@link maxEdits}, then the same first letter (typos rarely hit it), then the
 * word in the most sections. Stop words, prefix terms (`conf*`) and words with
 * digits are left alone.
 *
 * @returns `undefined` when every word is known or no unknown word has a close match.
 */
export function correctQuery(text: string, lexicons: readonly Lexicon[]): Correction | undefined {
  if (lexicons.length === 0) return undefined;
  const changes: WordCorrection[] = [];
  for (const term of parseQuery(text)) {
    if (term.words.length !== 1 || term.prefix) continue;
    const word = term.words[0]!;
    if (STOP_WORDS.has(word) || maxEdits(word.length) === 0 || /\d/.test(word)) continue;
    if (lexicons.some((lexicon) => lexicon.matchCount(word) > 0)) continue;
    const to = closestWord(word, lexicons);
    if (to !== undefined) changes.push({ from: word, to });
  }
  if (changes.length === 0) return undefined;
  let corrected = text;
  for (const { from, to } of changes) {
    corrected = corrected.replace(new RegExp(`(?<![\\p{L}\\p{N}\\p{M}])${escapeRegExp(from)}(?![\\p{L}\\p{N}\\p{M}])`, "giu"), to);
  }
  return { text: corrected, changes };
}

/** The best known word near `word` (see {@link correctQuery}), or `undefined`. */
export function closestWord(word: string, lexicons: readonly Lexicon[]): string | undefined {
  let best: Candidate | undefined;
  // Each lexicon's best, then the best of those: the order below is total
  // but for ties, which go to the earlier lexicon either way.
  for (const lexicon of lexicons) {
    const candidate = closestIn(word, lexicon);
    if (candidate && (!best || better(candidate, best))) best = candidate;
  }
  return best?.word;
}

interface Candidate {
  word: string;
  distance: number;
  /** 0 when it starts with the same letter as the word corrected. */
  otherStart: number;
  frequency: number;
}

const better = (a: Candidate, b: Candidate): boolean =>
  a.distance < b.distance || (a.distance === b.distance && (a.otherStart < b.otherStart || (a.otherStart === b.otherStart && a.frequency > b.frequency)));

/** Words looked up per lexicon, remembered: a lexicon (an index) never changes, and a scan of its vocabulary costs up to milliseconds. */
const closestCache = new WeakMap<Lexicon, Map<string, Candidate | null>>();
const CLOSEST_CACHE_SIZE = 4096;

function closestIn(word: string, lexicon: Lexicon): Candidate | undefined {
  let cache = closestCache.get(lexicon);
  if (!cache) closestCache.set(lexicon, (cache = new Map()));
  const cached = cache.get(word);
  if (cached !== undefined) return cached ?? undefined;
  const limit = maxEdits(word.length);
  let best: Candidate | undefined;
  for (const [candidate, frequency] of lexicon.vocabulary()) {
    if (Math.abs(candidate.length - word.length) > limit || STOP_WORDS.has(candidate)) continue;
    const distance = editDistance(word, candidate, best ? Math.min(limit, best.distance) : limit);
    if (distance > limit) continue;
    const found = { word: candidate, distance, otherStart: candidate[0] === word[0] ? 0 : 1, frequency };
    if (!best || better(found, best)) best = found;
  }
  if (cache.size >= CLOSEST_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(word, best ?? null);
  return best;
}

/**
 * Damerau-Levenshtein distance (optimal string alignment: insertions,
 * deletions, substitutions and swaps of neighbours, each 1), or `max + 1`
 * as soon as it is certain to exceed `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  // Three rows, reused from call to call (a correction compares thousands of words).
  if (rows.length < 3 * (n + 1)) rows = new Int32Array(3 * (n + 1) * 2);
  let before = 0;
  let previous = n + 1;
  let current = 2 * (n + 1);
  for (let j = 0; j <= n; j++) (rows[before + j] = 0), (rows[previous + j] = j);
  for (let i = 1; i <= a.length; i++) {
    rows[current] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[previous + j]! + 1, rows[current + j - 1]! + 1, rows[previous + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[before + j - 2]! + 1);
      rows[current + j] = value;
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > max) return max + 1;
    [before, previous, current] = [previous, current, before];
  }
  return Math.min(rows[previous + n]!, max + 1);
}

let rows = new Int32Array(96);

/**
 * Whether the text has words and every one is a stop word (`how to do it`):
 * such a query would match nearly every page, so it gets a hint instead of
 * ten arbitrary results. A prefix (`the*`) is a real term.
 */
export function isStopwordsOnly(text: string): boolean {
  const terms = parseQuery(text);
  return terms.length > 0 && terms.every((term) => !term.prefix && term.words.every((word) => STOP_WORDS.has(word)));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
