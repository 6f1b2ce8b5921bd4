import type { Database, Statement } from "bun:sqlite";

/** Words kept with their terms: far more than any question has, far fewer than a vocabulary. */
const CACHE_SIZE = 20_000;
/** A word no stemmer changes and no one searches for. */
const SEPARATOR = "q0x9sep7z";

/**
 * Query words as the index's terms: what FTS5's tokenizer (`porter
 * unicode61 remove_diacritics 2`) makes of them, so that a word is looked
 * up exactly as the same word was indexed (`Renewing` → `renew`). FTS5 has
 * no SQL function for it, so words are written into a one-row scratch
 * table of the same tokenizer and its terms read back; that costs tens of
 * microseconds, so every word is asked once and remembered (LRU).
 */
export class Stems {
  readonly #insert: Statement<unknown, [string]>;
  readonly #read: Statement<{ term: string }, []>;
  readonly #clear: Statement<unknown, []>;
  readonly #cache = new Map<string, readonly string[]>();

  /** Creates the scratch table in `db` (a temp table: it is no part of the index). */
  constructor(db: Database, tokenize: string) {
    db.run(`CREATE VIRTUAL TABLE temp.stem_probe USING fts5(word, ${tokenize})`);
    db.run(`CREATE VIRTUAL TABLE temp.stem_probe_terms USING fts5vocab(temp, stem_probe, instance)`);
    this.#insert = db.prepare(`INSERT INTO temp.stem_probe (rowid, word) VALUES (1, ?1)`);
    this.#read = db.prepare(`SELECT term FROM temp.stem_probe_terms ORDER BY offset`);
    this.#clear = db.prepare(`DELETE FROM temp.stem_probe WHERE rowid = 1`);
  }

  /**
   * The terms of each word, in order: usually one each; none for a word the
   * tokenizer drops, several for one it splits. Words not seen before are
   * asked of FTS5 together, in one write.
   */
  of(words: readonly string[]): (readonly string[])[] {
    let missing: string[] | undefined;
    for (const word of words) if (!this.#cache.has(word) && !missing?.includes(word)) (missing ??= []).push(word);
    if (missing) {
      // One write for all: the words with a separator word between them, which
      // the tokenizer leaves as it is, so each word's terms are those between
      // two separators (a word may give none, or several).
      if (missing.includes(SEPARATOR)) {
        for (const word of missing) this.#remember(word, this.#tokenize(word));
      } else {
        const terms = this.#tokenize(missing.join(` ${SEPARATOR} `));
        let word = 0;
        let current: string[] = [];
        for (const term of terms) {
          if (term === SEPARATOR) {
            this.#remember(missing[word++]!, current);
            current = [];
          } else current.push(term);
        }
        this.#remember(missing[word]!, current);
      }
    }
    return words.map((word) => {
      const terms = this.#cache.get(word)!;
      // Most recently used last.
      this.#cache.delete(word);
      this.#cache.set(word, terms);
      return terms;
    });
  }

  #tokenize(text: string): string[] {
    this.#insert.run(text);
    try {
      return this.#read.all().map((row) => row.term);
    } finally {
      this.#clear.run();
    }
  }

  #remember(word: string, terms: readonly string[]): void {
    if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(word, terms);
  }
}
