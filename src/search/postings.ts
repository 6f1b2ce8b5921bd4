import type { Database } from "bun:sqlite";

/**
 * The rows one term matches, with their BM25 scores (made positive, higher
 * is better), best first.
 */
export interface TermPostings {
  rowids: Int32Array;
  scores: Float32Array;
  /**
   * How many rows the term matches in all: its IDF's n. More than
   * `rowids.length` when the list was cut to the best {@link MAX_POSTINGS}.
   */
  count: number;
}

/**
 * Rows kept per term, best first. A term matching more rows than this is
 * common enough that its weakest matches cannot decide a ranking; keeping
 * its best ones only is what bounds the cost of a search at any corpus size
 * (32 terms × this many rows at most).
 */
export const MAX_POSTINGS = 25_000;

/** FTS5's bm25() constants (fts5_aux.c). */
const K1 = 1.2;
const B = 0.75;

/**
 * Every term's postings for one FTS5 table, read once from the table's own
 * `fts5vocab` instance view when the index is built, and scored in JS the
 * way FTS5's `bm25()` scores them (the same IDF, document lengths and
 * column weights): a search then reads a typed array instead of running a
 * `bm25()` query, which costs about a microsecond per matched row.
 *
 * Terms are FTS5's own (after its tokenizer and stemmer), so there is one
 * tokenizer for indexing and searching: FTS5's.
 *
 * Scores follow FTS5's `bm25()` except for terms in at least half of the
 * rows: FTS5 gives those an IDF of 1e-6, noise; here they score 0 (they
 * still count for coverage).
 */
export class Postings {
  readonly #slots: Map<string, number>;
  /** Postings of slot i: rowids[starts[i] … starts[i] + lengths[i]). */
  readonly #starts: Int32Array;
  readonly #lengths: Int32Array;
  readonly #counts: Int32Array;
  readonly #rowids: Int32Array;
  readonly #scores: Float32Array;

  private constructor(slots: Map<string, number>, starts: Int32Array, lengths: Int32Array, counts: Int32Array, rowids: Int32Array, scores: Float32Array) {
    this.#slots = slots;
    this.#starts = starts;
    this.#lengths = lengths;
    this.#counts = counts;
    this.#rowids = rowids;
    this.#scores = scores;
  }

  /** Distinct terms indexed. */
  get termCount(): number {
    return this.#slots.size;
  }

  /** A term's postings (views, not copies), or `undefined` for a term the table does not have. */
  get(term: string): TermPostings | undefined {
    const slot = this.#slots.get(term);
    if (slot === undefined) return undefined;
    const start = this.#starts[slot]!;
    const end = start + this.#lengths[slot]!;
    return { rowids: this.#rowids.subarray(start, end), scores: this.#scores.subarray(start, end), count: this.#counts[slot]! };
  }

  /** The terms, for vocabulary lookups (typo correction). */
  terms(): IterableIterator<string> {
    return this.#slots.keys();
  }

  /**
   * Reads and scores every posting of `table`.
   *
   * @param weights the column weights given to bm25() for this table, by column name.
   * @param rowCount rows in the table (its N).
   * @param maxRowid the largest rowid in it.
   * @param shift added to every rowid in the postings (titles are stored as page index + 1, ranked by page index).
   */
  static build(db: Database, table: string, weights: Readonly<Record<string, number>>, rowCount: number, maxRowid: number, shift = 0): Postings {
    const vocab = `${table}_instances`;
    db.run(`CREATE VIRTUAL TABLE temp.${vocab} USING fts5vocab(main, ${table}, instance)`);
    try {
      return Postings.#read(db, vocab, weights, rowCount, maxRowid, shift);
    } finally {
      db.run(`DROP TABLE temp.${vocab}`);
    }
  }

  static #read(db: Database, vocab: string, weights: Readonly<Record<string, number>>, rowCount: number, maxRowid: number, shift: number): Postings {
    // One pass over every token instance, in term then row order: weighted
    // frequencies per (term, row), and every row's length in tokens.
    const docLength = new Float64Array(maxRowid + 1);
    let pairRowids = new Int32Array(1024);
    let pairFreqs = new Float32Array(1024);
    let pairs = 0;
    const termStarts: number[] = [];
    const termNames: string[] = [];
    let lastTerm: string | undefined;
    let lastRow = -1;
    let totalTokens = 0;
    for (const { term, doc: row, col: column } of db.query(`SELECT term, doc, col FROM temp.${vocab}`).iterate() as IterableIterator<{ term: string; doc: number; col: string }>) {
      docLength[row]! += 1;
      totalTokens++;
      if (term !== lastTerm) {
        termNames.push(term);
        termStarts.push(pairs);
        lastTerm = term;
        lastRow = -1;
      }
      if (row !== lastRow) {
        if (pairs === pairRowids.length) {
          const rowids = new Int32Array(pairs * 2);
          rowids.set(pairRowids);
          pairRowids = rowids;
          const freqs = new Float32Array(pairs * 2);
          freqs.set(pairFreqs);
          pairFreqs = freqs;
        }
        pairRowids[pairs] = row;
        pairFreqs[pairs] = 0;
        pairs++;
        lastRow = row;
      }
      pairFreqs[pairs - 1]! += weights[column] ?? 1;
    }
    termStarts.push(pairs);

    const avgdl = rowCount > 0 ? totalTokens / rowCount : 1;
    const slots = new Map<string, number>();
    const terms = termNames.length;
    const starts = new Int32Array(terms);
    const lengths = new Int32Array(terms);
    const counts = new Int32Array(terms);
    let kept = 0;
    for (let t = 0; t < terms; t++) kept += Math.min(MAX_POSTINGS, termStarts[t + 1]! - termStarts[t]!);
    const rowids = new Int32Array(kept);
    const scores = new Float32Array(kept);
    let at = 0;
    let order = new Int32Array(0);
    for (let t = 0; t < terms; t++) {
      const from = termStarts[t]!;
      const n = termStarts[t + 1]! - from;
      slots.set(termNames[t]!, t);
      counts[t] = n;
      starts[t] = at;
      // FTS5: idf = log((N - n + 0.5) / (n + 0.5)), floored at 1e-6; a term in half the rows or more scores 0 here.
      const idf = Math.log((rowCount - n + 0.5) / (n + 0.5));
      const raw = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const f = pairFreqs[from + i]!;
        const length = docLength[pairRowids[from + i]!]!;
        raw[i] = idf <= 0 ? 0 : (idf * (f * (K1 + 1))) / (f + K1 * (1 - B + (B * length) / avgdl));
      }
      // Best first (ties by rowid), so that a cut keeps the best.
      if (order.length < n) order = new Int32Array(n);
      const view = order.subarray(0, n);
      for (let i = 0; i < n; i++) view[i] = i;
      view.sort((a, b) => raw[b]! - raw[a]! || pairRowids[from + a]! - pairRowids[from + b]!);
      const keep = Math.min(MAX_POSTINGS, n);
      for (let i = 0; i < keep; i++) {
        rowids[at + i] = pairRowids[from + view[i]!]! + shift;
        scores[at + i] = raw[view[i]!]!;
      }
      lengths[t] = keep;
      at += keep;
    }
    return new Postings(slots, starts, lengths, counts, rowids, scores);
  }
}
