import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { splitSections } from "../../src/docs/sections.ts";
import { identifierWords } from "../../src/search/identifiers.ts";
import { markdownToText } from "../../src/search/plaintext.ts";
import { MAX_POSTINGS, PostingsBuilder } from "../../src/search/postings.ts";
import { Stems } from "../../src/search/stems.ts";
import { loadCorpus } from "../support/corpora.ts";

const TOKENIZE = `tokenize = 'porter unicode61 remove_diacritics 2'`;
const WEIGHTS = [4, 1, 0.5];

/** Text beyond ASCII: diacritics, ligatures, other scripts, dashes and marks inside words, emoji, a separator-like word. */
const UNICODE_ROWS: [string, string, string][] = [
  ["Café naïve", "Café naïve façade — Ünïcödé ﬁle İstanbul ΑΘΗΝΑ straße", "cafe"],
  ["東京タワー", "東京タワー 👍 foo‐bar x² a\u0310b e\u0301t Ⅻ ①②", ""],
  ["mixed", "résumé RÉSUMÉ resume naïveté q0x9sep7z don't it’s C++ C# .NET v1.2.3", "re sume"],
];

/**
 * The index's FTS5 table over the Hono corpus (the columns as SearchIndex
 * writes them) and a few rows of harder text, with the same rows given to a
 * PostingsBuilder.
 */
async function fixture() {
  const rows: [string, string, string][] = [];
  for (const page of await loadCorpus("hono")) {
    for (const section of splitSections(page)) {
      const body = markdownToText(section.text);
      rows.push([section.heading, body, identifierWords(body)]);
    }
  }
  rows.push(...UNICODE_ROWS);
  const db = new Database(":memory:");
  db.run(`CREATE VIRTUAL TABLE sections USING fts5(heading, body, identifiers, ${TOKENIZE})`);
  const insert = db.prepare(`INSERT INTO sections (rowid, heading, body, identifiers) VALUES (?1, ?2, ?3, ?4)`);
  const builder = new PostingsBuilder(WEIGHTS);
  db.transaction(() =>
    rows.forEach((row, i) => {
      insert.run(i + 1, ...row);
      builder.add(i + 1, row);
    }),
  )();
  const stems = new Stems(db, TOKENIZE);
  const postings = builder.build((words) => stems.uncached(words));
  return { db, rows, postings, stems };
}

const { db, rows, postings, stems } = await fixture();
afterAll(() => db.close());

describe("PostingsBuilder", () => {
  test("has exactly FTS5's terms, each with the rows FTS5 lists for it", () => {
    db.run(`CREATE VIRTUAL TABLE temp.instances USING fts5vocab(main, sections, instance)`);
    const expected = new Map<string, Set<number>>();
    for (const [term, row] of db.query(`SELECT term, doc FROM temp.instances`).values() as [string, number][]) {
      (expected.get(term) ?? expected.set(term, new Set()).get(term)!).add(row);
    }
    expect(postings.termCount).toBe(expected.size);
    const differing: string[] = [];
    for (const [term, rowSet] of expected) {
      const found = postings.get(term);
      const ids = found ? [...found.rowids].sort((a, b) => a - b) : [];
      const want = [...rowSet].sort((a, b) => a - b);
      if (found?.count !== want.length || (want.length <= MAX_POSTINGS && ids.join() !== want.join())) differing.push(term);
    }
    expect(differing).toEqual([]);
    // The harder rows' words are there, as FTS5 made them.
    for (const term of ["cafe", "naiv", "istanbul", "αθηνα", "straß", "東京タワー", "resum", "q0x9sep7z"]) expect(postings.get(term)?.count ?? 0).toBeGreaterThan(0);
  });

  test("scores each row as FTS5's bm25() does, for words in few rows and in many", () => {
    const words = ["middleware", "cookie", "jwt", "routing", "bearer", "validator", "the", "hono", "request", "café", "résumé", "東京タワー", "ΑΘΗΝΑ"];
    const bm25 = db.query(`SELECT rowid, -bm25(sections, 4, 1, 0.5) AS score FROM sections WHERE sections MATCH ?1`);
    for (const word of words) {
      const [terms] = stems.of([word]);
      expect(terms).toHaveLength(1);
      const found = postings.get(terms![0]!)!;
      const ours = new Map([...found.rowids].map((rowid, i) => [rowid, found.scores[i]!]));
      const theirs = bm25.all(`"${word}"`) as { rowid: number; score: number }[];
      expect(found.count).toBe(theirs.length);
      for (const { rowid, score } of theirs) {
        // FTS5 floors the IDF of a word in half the rows or more at 1e-6; those score 0 here.
        const want = found.count * 2 >= rows.length ? 0 : score;
        expect(Math.abs(ours.get(rowid)! - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
  });

  test("keeps the best MAX_POSTINGS rows of a term in more rows than that, best first", () => {
    const builder = new PostingsBuilder([1]);
    const total = MAX_POSTINGS + 500;
    // Rows with the word once in texts of growing length: shorter rows score higher.
    for (let row = 1; row <= total; row++) builder.add(row, [`common ${"x ".repeat(row % 50)}${row % 7 === 0 ? "rare" : ""}`]);
    const built = builder.build((words) => words.map((word) => [word]));
    const common = built.get("common")!;
    expect(common.count).toBe(total);
    expect(common.rowids.length).toBe(MAX_POSTINGS);
    const rare = built.get("rare")!;
    expect(rare.count).toBe(Math.floor(total / 7));
    expect([...rare.rowids]).toEqual([...rare.rowids].sort((a, b) => a - b));
    expect(rare.scores.every((score) => score > 0)).toBe(true);
  });

  test("a build of millions of tokens (several blocks of the token lists) counts every token of every row", () => {
    // 3,000 rows of 1,000 tokens: 3 million tokens, past two block boundaries (2^20 tokens each).
    // Word w<k> is in the rows whose number is a multiple of k, once per multiple in the row; "every" in all.
    const builder = new PostingsBuilder([1]);
    const ROWS = 3_000;
    for (let row = 1; row <= ROWS; row++) {
      const words: string[] = [];
      for (let i = 0; i < 999; i++) words.push(row % (2 + (i % 5)) === 0 ? `w${2 + (i % 5)}` : "filler");
      words.push("every");
      builder.add(row, [words.join(" ")]);
    }
    const big = builder.build((chunks) => chunks.map((chunk) => [chunk]));
    expect(big.get("every")!.count).toBe(ROWS);
    for (const k of [2, 3, 5, 6]) expect(big.get(`w${k}`)!.count).toBe(Math.floor(ROWS / k));
    // Rows from every block are there, and only the right ones.
    expect([...big.get("w2")!.rowids].every((row) => row % 2 === 0)).toBe(true);
  });
});
