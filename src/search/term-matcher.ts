import type { Statement } from "bun:sqlite";
import type { TermPostings } from "./postings.ts";

/**
 * The rows a term that is not a single word matches (a phrase such as the
 * words of `next.js`, or a prefix such as `renew*`), asked of FTS5 itself,
 * with `bm25()` scores made positive, cached in a small LRU. Single words
 * are read from the precomputed postings instead (postings.ts); these are
 * the rarer terms.
 *
 * FTS5's bm25() gives a term in at least half of the rows an IDF of 1e-6, so
 * its scores are noise; computing them (a document-size lookup per row) is
 * what makes common terms slow. Such a term's rows are fetched without
 * bm25() and score 0: they still count for coverage and IDF.
 */
export class TermMatcher {
  readonly #scored: Statement<unknown, [string]>;
  readonly #rowids: Statement<unknown, [string]>;
  readonly #rowCount: number;
  readonly #shift: number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, TermPostings>();

  /**
   * @param scored `SELECT rowid, bm25(…) … WHERE … MATCH ?1`
   * @param rowids `SELECT rowid … WHERE … MATCH ?1`
   * @param shift added to every rowid (titles: page index + 1 in the table, page index in the ranking).
   */
  constructor(scored: Statement<unknown, [string]>, rowids: Statement<unknown, [string]>, rowCount: number, shift: number, cacheSize: number) {
    this.#scored = scored;
    this.#rowids = rowids;
    this.#rowCount = rowCount;
    this.#shift = shift;
    this.#cacheSize = cacheSize;
  }

  /** The rows `expression` (an FTS5 query string) matches. */
  get(expression: string): TermPostings {
    const cache = this.#cache;
    const cached = cache.get(expression);
    if (cached !== undefined) {
      // Most recently used last: Map keeps insertion order.
      cache.delete(expression);
      cache.set(expression, cached);
      return cached;
    }
    const matches = this.#query(expression);
    if (this.#cacheSize > 0) {
      if (cache.size >= this.#cacheSize) cache.delete(cache.keys().next().value!);
      cache.set(expression, matches);
    }
    return matches;
  }

  #query(expression: string): TermPostings {
    const shift = this.#shift;
    const ids = this.#rowids.values(expression) as [number][];
    const n = ids.length;
    const rowids = new Int32Array(n);
    const scores = new Float32Array(n);
    // Same test as FTS5's bm25(): idf = log((N - n + 0.5) / (n + 0.5)) <= 0.
    if (n === 0 || this.#rowCount - n + 0.5 <= n + 0.5) {
      for (let i = 0; i < n; i++) rowids[i] = ids[i]![0] + shift;
      return { rowids, scores, count: n };
    }
    // bm25() is negative (more negative is better); the scores returned are not.
    const rows = this.#scored.values(expression) as [number, number][];
    for (let i = 0; i < rows.length; i++) {
      rowids[i] = rows[i]![0] + shift;
      scores[i] = -rows[i]![1];
    }
    return { rowids, scores, count: n };
  }
}
