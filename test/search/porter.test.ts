import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { porterStem } from "../../src/search/porter.ts";
import { loadCorpus } from "../support/corpora.ts";

/** What FTS5 itself (`porter unicode61 remove_diacritics 2`, the index's tokenizer) makes of each word. */
function fts5Terms(words: readonly string[]): string[][] {
  const db = new Database(":memory:");
  try {
    db.run(`CREATE VIRTUAL TABLE probe USING fts5(word, tokenize = 'porter unicode61 remove_diacritics 2')`);
    db.run(`CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, instance)`);
    const insert = db.prepare(`INSERT INTO probe (rowid, word) VALUES (?1, ?2)`);
    db.transaction(() => words.forEach((word, i) => insert.run(i + 1, word)))();
    const terms = words.map((): string[] => []);
    for (const [term, row] of db.query(`SELECT term, doc FROM probe_terms ORDER BY doc, offset`).values() as [string, number][]) {
      terms[row - 1]!.push(term);
    }
    return terms;
  } finally {
    db.close();
  }
}

/** The examples of Porter's paper, step by step, and edge cases of FTS5's version (short words, a long one, digits). */
const CLASSIC = (
  "caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized hopping tanned " +
  "falling hissing fizzed failing filing happy sky relational conditional rational valenci hesitanci digitizer " +
  "conformabli radicalli differentli vileli analogousli vietnamization predication operator feudalism decisiveness " +
  "hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti electrical " +
  "hopeful goodness revival allowance inference airliner gyroscopic adjustable defensible irritant replacement " +
  "adjustment dependent adoption homologou communism activate angulariti homologous effective bowdlerize probate " +
  "rate cease controll roll eing ying yy bb is as us eed ied sses http2 v8 utf8 OAuth2 JSON HTTPException Renewing " +
  "a".repeat(64) + "ing " + "b".repeat(70) + "ing"
).split(" ");

describe("porterStem", () => {
  test("stems the classic examples as FTS5 does", () => {
    const expected = fts5Terms(CLASSIC);
    expect(CLASSIC.map((word) => [word, porterStem(word)])).toEqual(CLASSIC.map((word, i) => [word, expected[i]![0]!]));
    expect(porterStem("Renewing")).toBe("renew");
    expect(porterStem("relational")).toBe("relat");
  });

  test("stems every ASCII word of the test corpora as FTS5 does", async () => {
    const words = new Set<string>();
    for (const corpus of ["hono", "dtz"] as const) {
      for (const page of await loadCorpus(corpus)) for (const [word] of `${page.title} ${page.markdown}`.matchAll(/[A-Za-z0-9]+/g)) words.add(word);
    }
    const list = [...words];
    expect(list.length).toBeGreaterThan(4000);
    const expected = fts5Terms(list);
    const differing = list.filter((word, i) => expected[i]!.length !== 1 || porterStem(word) !== expected[i]![0]);
    expect(differing).toEqual([]);
  });
});
