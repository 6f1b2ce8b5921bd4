import { runAtOnce, type Steps } from "./gradual.ts";

/**
 * The rows one term matches, with their BM25 scores (made positive, higher
 * is better).
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
 * Rows kept per term. A term matching more rows than this is common enough
 * that its weakest matches cannot decide a ranking; keeping its best ones
 * only is what bounds the cost of a search at any corpus size (32 terms ×
 * this many rows at most).
 */
export const MAX_POSTINGS = 25_000;

/**
 * Turns words into the index's terms, in order: what FTS5's tokenizer makes
 * of each (none, one, or several terms). See stems.ts.
 */
export type Tokenize = (words: readonly string[]) => (readonly string[])[];

/** Chunks, tokens or terms handled between two points where the build may pause (a power of two). */
const STEP = 4096;

/** 32-bit FNV-1a, over UTF-16 code units. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FTS5's bm25() constants (fts5_aux.c). */
const K1 = 1.2;
const B = 0.75;

/**
 * Every term's postings for one FTS5 table, scored the way FTS5's `bm25()`
 * scores them (the same IDF, document lengths and column weights): a search
 * reads a typed array instead of running a `bm25()` query, which costs
 * about a microsecond per matched row.
 *
 * Terms are FTS5's own (after its tokenizer and stemmer), so there is one
 * tokenizer for indexing and searching: FTS5's. Scores follow FTS5's
 * `bm25()` except for terms in at least half of the rows: FTS5 gives those
 * an IDF of 1e-6, noise; here they score 0 (they still count for coverage).
 *
 * A term's rows are in rowid order, except for a list cut to its best
 * {@link MAX_POSTINGS}, which is best first.
 */
export class Postings {
  readonly #slots: Map<string, number>;
  /** Postings of slot i: rowids[starts[i] … starts[i + 1]). */
  readonly #starts: Int32Array;
  readonly #counts: Int32Array;
  readonly #rowids: Int32Array;
  readonly #scores: Float32Array;

  /** @internal built by {@link PostingsBuilder} */
  constructor(slots: Map<string, number>, starts: Int32Array, counts: Int32Array, rowids: Int32Array, scores: Float32Array) {
    this.#slots = slots;
    this.#starts = starts;
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
    const end = this.#starts[slot + 1]!;
    return { rowids: this.#rowids.subarray(start, end), scores: this.#scores.subarray(start, end), count: this.#counts[slot]! };
  }

  /** The terms, for vocabulary lookups. */
  terms(): IterableIterator<string> {
    return this.#slots.keys();
  }

  /** Everything these postings are made of, for a snapshot (snapshot.ts). */
  parts(): PostingsParts {
    return { terms: [...this.#slots.keys()], starts: this.#starts, counts: this.#counts, rowids: this.#rowids, scores: this.#scores };
  }

  /** Postings back from {@link parts}. */
  static fromParts(parts: PostingsParts): Postings {
    const slots = new Map<string, number>();
    parts.terms.forEach((term, slot) => slots.set(term, slot));
    return new Postings(slots, parts.starts, parts.counts, parts.rowids, parts.scores);
  }
}

/** The arrays of a {@link Postings}: term i's rows are rowids[starts[i] … starts[i + 1]). */
export interface PostingsParts {
  terms: string[];
  starts: Int32Array;
  counts: Int32Array;
  rowids: Int32Array;
  scores: Float32Array;
}

/**
 * Collects the rows of one FTS5 table as they are inserted into it, and
 * scores them once all are in.
 *
 * Why not read the postings back from FTS5 (its `fts5vocab` instance view)?
 * That hands JS one row, with a fresh term string, per token in the corpus,
 * and costs as much as indexing the text. Here the text is cut at ASCII
 * separators into chunks (runs of ASCII letters and digits and of anything
 * beyond ASCII), which unicode61 never joins across; each distinct chunk is
 * given to FTS5's tokenizer once ({@link Tokenize}). So the terms are
 * exactly FTS5's, at a cost per distinct chunk rather than per token
 * (test/search/postings.test.ts compares both ways on real corpora).
 */
export class PostingsBuilder {
  readonly #weights: readonly number[];
  /** Distinct chunks, by id; their hashes; and the hash table over them (id + 1, 0 for none). */
  readonly #chunks: string[] = [];
  #hashes: Int32Array<ArrayBuffer> = new Int32Array(1024);
  #table = new Int32Array(2048);
  /**
   * Per token: its chunk id, and its rowid × 4 + column, in blocks of
   * {@link TOKEN_BLOCK}. Blocks, not one array grown by doubling: at 300 MB
   * of text these lists are the build's largest allocation, and a doubling
   * array holds up to twice what it needs (three times while it copies).
   */
  readonly #tokenChunks: Int32Array<ArrayBuffer>[] = [];
  readonly #tokenPlaces: Int32Array<ArrayBuffer>[] = [];
  /** The last blocks, and how much of them is used: what adding a token touches. */
  #chunkBlock: Int32Array<ArrayBuffer> = EMPTY;
  #placeBlock: Int32Array<ArrayBuffer> = EMPTY;
  #filled = 0;
  #tokens = 0;
  #maxRowid = 0;
  #rows = 0;

  /** @param weights column weights, by column index (at most 4 columns), as given to bm25(). */
  constructor(weights: readonly number[]) {
    if (weights.length < 1 || weights.length > 4) throw new RangeError("PostingsBuilder: 1 to 4 columns");
    this.#weights = weights;
  }

  /** Adds one row: its text by column, as inserted into the table. Rowids are positive. */
  add(rowid: number, columns: readonly string[]): void {
    this.#rows++;
    if (rowid > this.#maxRowid) this.#maxRowid = rowid;
    for (let column = 0; column < columns.length; column++) {
      const text = columns[column]!;
      const place = rowid * 4 + column;
      let start = -1;
      let hash = 0;
      for (let i = 0; i <= text.length; i++) {
        const c = i < text.length ? text.charCodeAt(i) : 32;
        if (c >= 128 || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)) {
          if (start < 0) (start = i), (hash = FNV_OFFSET);
          hash = Math.imul(hash ^ c, FNV_PRIME);
        } else if (start >= 0) {
          this.#token(this.#chunkId(text, start, i, hash), place);
          start = -1;
        }
      }
    }
  }

  /**
   * The id of chunk text[start … end), whose hash is `hash`. An open
   * addressing table over the chunks seen so far, compared in place: a
   * chunk seen before (most are) costs no string.
   */
  #chunkId(text: string, start: number, end: number, hash: number): number {
    const length = end - start;
    let mask = this.#table.length - 1;
    let slot = hash & mask;
    for (let entry = this.#table[slot]!; entry !== 0; entry = this.#table[(slot = (slot + 1) & mask)]!) {
      const id = entry - 1;
      if (this.#hashes[id] !== hash) continue;
      const chunk = this.#chunks[id]!;
      if (chunk.length !== length) continue;
      let same = true;
      for (let k = 0; k < length && same; k++) same = chunk.charCodeAt(k) === text.charCodeAt(start + k);
      if (same) return id;
    }
    const id = this.#chunks.push(text.slice(start, end)) - 1;
    if (id === this.#hashes.length) this.#hashes = grown(this.#hashes);
    this.#hashes[id] = hash;
    this.#table[slot] = id + 1;
    // Kept at most half full, so that probes stay short.
    if (this.#chunks.length * 2 > this.#table.length) {
      this.#table = new Int32Array(this.#table.length * 2);
      mask = this.#table.length - 1;
      for (let other = 0; other < this.#chunks.length; other++) {
        let at = this.#hashes[other]! & mask;
        while (this.#table[at] !== 0) at = (at + 1) & mask;
        this.#table[at] = other + 1;
      }
    }
    return id;
  }

  /** Room for more tokens: the first block grows to full size (small sets stay small), later ones start full. */
  #nextBlock(): void {
    if (this.#chunkBlock.length > 0 && this.#chunkBlock.length < TOKEN_BLOCK) {
      this.#chunkBlock = this.#tokenChunks[0] = grown(this.#chunkBlock);
      this.#placeBlock = this.#tokenPlaces[0] = grown(this.#placeBlock);
      return;
    }
    this.#chunkBlock = new Int32Array(this.#chunkBlock.length === 0 ? 4096 : TOKEN_BLOCK);
    this.#placeBlock = new Int32Array(this.#chunkBlock.length);
    this.#tokenChunks.push(this.#chunkBlock);
    this.#tokenPlaces.push(this.#placeBlock);
    this.#filled = 0;
  }

  #token(chunk: number, place: number): void {
    if (this.#filled === this.#chunkBlock.length) this.#nextBlock();
    this.#chunkBlock[this.#filled] = chunk;
    this.#placeBlock[this.#filled++] = place;
    this.#tokens++;
  }

  /**
   * Scores what was added.
   *
   * @param tokenize FTS5's tokenizer (the table's).
   * @param shift added to every rowid in the postings (titles are stored as page index + 1, ranked by page index).
   */
  build(tokenize: Tokenize, shift = 0): Postings {
    return runAtOnce(this.steps(tokenize, shift));
  }

  /** {@link build}, as steps that may be paused (gradual.ts). */
  *steps(tokenize: Tokenize, shift = 0): Steps<Postings> {
    // Terms of every chunk, as term ids: chunk c has chunkTerms[chunkStart[c] … chunkStart[c + 1]).
    const chunkCount = this.#chunks.length;
    const chunkTermLists: (readonly string[])[] = [];
    for (let from = 0; from < chunkCount; from += STEP) {
      chunkTermLists.push(...tokenize(this.#chunks.slice(from, from + STEP)));
      yield;
    }
    const slots = new Map<string, number>();
    const termNames: string[] = [];
    const chunkStart = new Int32Array(chunkCount + 1);
    let listed = 0;
    for (let c = 0; c < chunkCount; c++) listed += chunkTermLists[c]!.length;
    const chunkTerms = new Int32Array(listed);
    listed = 0;
    for (let c = 0; c < chunkCount; c++) {
      if ((c & (STEP - 1)) === 0) yield;
      chunkStart[c] = listed;
      for (const term of chunkTermLists[c]!) {
        let slot = slots.get(term);
        if (slot === undefined) {
          slot = termNames.push(term) - 1;
          slots.set(term, slot);
        }
        chunkTerms[listed++] = slot;
      }
    }
    chunkStart[chunkCount] = listed;
    const terms = termNames.length;

    // Tokens by term (a counting sort, stable: rows stay in order), and each row's length in terms.
    const tokens = this.#tokens;
    const chunkBlocks = this.#tokenChunks;
    const placeBlocks = this.#tokenPlaces;
    const docLength = new Int32Array(this.#maxRowid + 1);
    const termStart = new Int32Array(terms + 1);
    let totalTerms = 0;
    for (let t = 0; t < tokens; t++) {
      if ((t & (STEP * 16 - 1)) === 0) yield;
      const c = chunkBlocks[t >>> TOKEN_BLOCK_BITS]![t & (TOKEN_BLOCK - 1)]!;
      const n = chunkStart[c + 1]! - chunkStart[c]!;
      docLength[placeBlocks[t >>> TOKEN_BLOCK_BITS]![t & (TOKEN_BLOCK - 1)]! >> 2]! += n;
      totalTerms += n;
      for (let j = chunkStart[c]!; j < chunkStart[c + 1]!; j++) termStart[chunkTerms[j]! + 1]!++;
    }
    for (let s = 0; s < terms; s++) termStart[s + 1]! += termStart[s]!;
    const fill = termStart.slice(0, terms);
    const places = new Int32Array(totalTerms);
    for (let t = 0; t < tokens; t++) {
      if ((t & (STEP * 16 - 1)) === 0) yield;
      const c = chunkBlocks[t >>> TOKEN_BLOCK_BITS]![t & (TOKEN_BLOCK - 1)]!;
      const place = placeBlocks[t >>> TOKEN_BLOCK_BITS]![t & (TOKEN_BLOCK - 1)]!;
      for (let j = chunkStart[c]!; j < chunkStart[c + 1]!; j++) places[fill[chunkTerms[j]!]!++] = place;
      // A block read to its end is done with: let it go now, before the postings are made.
      if ((t & (TOKEN_BLOCK - 1)) === TOKEN_BLOCK - 1) {
        chunkBlocks[t >>> TOKEN_BLOCK_BITS] = placeBlocks[t >>> TOKEN_BLOCK_BITS] = EMPTY;
      }
    }
    chunkBlocks.length = placeBlocks.length = 0;
    this.#chunkBlock = this.#placeBlock = EMPTY;
    this.#tokens = this.#filled = 0;

    const weights = Float32Array.from({ length: 4 }, (_, column) => this.#weights[column] ?? 0);
    const avgdl = this.#rows > 0 ? totalTerms / this.#rows : 1;
    const rowCount = this.#rows;
    // Postings: one entry per (term, row), its weighted frequency summed over
    // the row's tokens. Counted first, so that the lists are allocated once.
    const counts = new Int32Array(terms);
    let kept = 0;
    let longest = 0;
    // A pause every STEP × 16 token places, not every so many terms: one
    // common term has as many places as thousands of rare ones.
    let work = 0;
    for (let s = 0; s < terms; s++) {
      if ((work += termStart[s + 1]! - termStart[s]!) > STEP * 16) {
        work = 0;
        yield;
      }
      let n = 0;
      let last = -1;
      for (let i = termStart[s]!; i < termStart[s + 1]!; i++) {
        const row = places[i]! >> 2;
        if (row !== last) (n++, (last = row));
      }
      counts[s] = n;
      kept += Math.min(n, MAX_POSTINGS);
      if (n > longest) longest = n;
    }
    const starts = new Int32Array(terms + 1);
    const rowids = new Int32Array(kept);
    const scores = new Float32Array(kept);
    const listRows = new Int32Array(longest);
    const listScores = new Float32Array(longest);
    let at = 0;
    for (let s = 0; s < terms; s++) {
      if ((work += termStart[s + 1]! - termStart[s]!) > STEP * 16) {
        work = 0;
        yield;
      }
      starts[s] = at;
      let n = 0;
      for (let i = termStart[s]!; i < termStart[s + 1]!; i++) {
        const row = places[i]! >> 2;
        const weight = weights[places[i]! & 3]!;
        if (n > 0 && listRows[n - 1] === row) listScores[n - 1]! += weight;
        else {
          listRows[n] = row;
          listScores[n++] = weight;
        }
      }
      // FTS5: idf = log((N - n + 0.5) / (n + 0.5)), floored at 1e-6; a term in half the rows or more scores 0 here.
      const idf = Math.log((rowCount - n + 0.5) / (n + 0.5));
      for (let i = 0; i < n; i++) {
        const f = listScores[i]!;
        listScores[i] = idf <= 0 ? 0 : (idf * (f * (K1 + 1))) / (f + K1 * (1 - B + (B * docLength[listRows[i]!]!) / avgdl));
      }
      if (n > MAX_POSTINGS) {
        // Cut to the best, ties by rowid.
        const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => listScores[b]! - listScores[a]! || listRows[a]! - listRows[b]!);
        for (let i = 0; i < MAX_POSTINGS; i++) {
          rowids[at + i] = listRows[order[i]!]! + shift;
          scores[at + i] = listScores[order[i]!]!;
        }
        at += MAX_POSTINGS;
      } else {
        for (let i = 0; i < n; i++) {
          rowids[at + i] = listRows[i]! + shift;
          scores[at + i] = listScores[i]!;
        }
        at += n;
      }
    }
    starts[terms] = at;
    return new Postings(slots, starts, counts, rowids, scores);
  }
}

/** Tokens per block of the token lists (4 MiB a list). */
const TOKEN_BLOCK_BITS = 20;
const TOKEN_BLOCK = 1 << TOKEN_BLOCK_BITS;
const EMPTY: Int32Array<ArrayBuffer> = new Int32Array(0);

function grown(array: Int32Array): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
