import { afterAll, describe, expect, test } from "bun:test";
import { SearchIndex } from "../../src/search/index.ts";
import {
  MAX_TERMS,
  MAX_WORD_LENGTH,
  parseQuery,
  termExpression,
  type QueryTerm,
} from "../../src/search/query.ts";
import { loadCorpus } from "../support/corpora.ts";

const show = (terms: readonly QueryTerm[]) => terms.map((t) => t.words.join(" ") + (t.prefix ? "*" : ""));

describe("parseQuery", () => {
  test("reduces a question to its meaningful words", () => {
    expect(show(parseQuery("How do I limit the request body size?"))).toEqual(["limit", "request", "body", "size"]);
  });

  test("searches for the stop words when there is nothing else", () => {
    expect(show(parseQuery("how to do it"))).toEqual(["how", "to", "do", "it"]);
  });

  test("drops contraction fragments", () => {
    expect(show(parseQuery("don't parse the user's body"))).toEqual(["parse", "user", "body"]);
  });

  test("a trailing * makes a prefix term, even of a stop word, but not of a single letter", () => {
    expect(show(parseQuery("middlew* a* the*"))).toEqual(["middlew*", "the*"]);
    expect(show(parseQuery("a*"))).toEqual(["a"]);
  });

  test("compounds give their words and their phrase", () => {
    expect(show(parseQuery("next.js server-sent c.req.query"))).toEqual([
      "next", "js", "next js", "server", "sent", "server sent", "c", "req", "query", "c req query",
    ]);
  });

  test("lowercases and removes duplicates; a prefix request wins", () => {
    expect(show(parseQuery("Cookie COOKIE cookie* cookies"))).toEqual(["cookie*", "cookies"]);
  });

  test("keeps unicode letters and digits, drops emoji and punctuation", () => {
    expect(show(parseQuery("Über café 日本語 🎉 http2 ✅ —"))).toEqual(["über", "café", "日本語", "http2"]);
  });

  test("caps the number of terms and the length of a word", () => {
    const many = Array.from({ length: 100 }, (_, i) => `word${i}`).join(" ");
    expect(parseQuery(many)).toHaveLength(MAX_TERMS);
    expect(parseQuery(many, { maxTerms: 5 })).toHaveLength(5);
    expect(parseQuery("x".repeat(10_000))[0]!.words[0]).toHaveLength(MAX_WORD_LENGTH);
  });

  test("prefixLast makes the last meaningful word a prefix while typing", () => {
    expect(show(parseQuery("body lim", { prefixLast: true }))).toEqual(["body", "lim*"]);
    expect(show(parseQuery("body lim ", { prefixLast: true }))).toEqual(["body", "lim"]);
    expect(show(parseQuery("limit the", { prefixLast: true }))).toEqual(["limit"]);
    expect(show(parseQuery("body lim"))).toEqual(["body", "lim"]);
  });

  test("text without letters or digits has no terms", () => {
    expect(parseQuery("")).toEqual([]);
    expect(parseQuery("  \"'()*:^-+ 🎉 ")).toEqual([]);
  });

  test("every word is made of letters, digits and marks only", () => {
    for (const term of parseQuery(HOSTILE.join(" "))) {
      for (const word of term.words) expect(word).toMatch(/^[\p{L}\p{N}\p{M}]+$/u);
    }
  });
});

describe("FTS5 expressions", () => {
  test("each term is a quoted string, prefixes get a *", () => {
    const terms = parseQuery("body-limit middlew*");
    expect(terms.map(termExpression)).toEqual(['"body"', '"limit"', '"body limit"', '"middlew"*']);
  });

  test("a stray double quote is doubled (defence in depth: parseQuery never yields one)", () => {
    expect(termExpression({ words: ['a"b'], prefix: false })).toBe('"a""b"');
  });
});

/** A deterministic pseudo-random string over a hostile alphabet. */
function randomText(length: number, seed: number): string {
  const alphabet = ` \t\n"'*-+^:()[]{}<>|\\/.,;!?#@$%&=~\`abcXYZ019éü日本🎉\u0000\u200b\u{10FFFF}ANDORNOTNEAR`;
  const chars = [...alphabet];
  let state = seed;
  let out = "";
  while (out.length < length) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out += chars[state % chars.length];
  }
  return out;
}

const HOSTILE = [
  "",
  " ",
  '"',
  '""',
  '"unbalanced',
  "'single'",
  "-foo",
  "foo -bar",
  "a*",
  "*",
  "**",
  "*middleware",
  "AND OR NOT",
  "AND",
  "cookie AND",
  "NOT cookie",
  "(",
  ")",
  "(cookie OR",
  "NEAR(",
  "NEAR(cookie body, 2)",
  ":",
  "title:cookie",
  "heading : x",
  "^",
  "^cookie",
  "{title heading}: cookie",
  "+cookie",
  "cookie~2",
  "c.req.json()",
  "x-forwarded-for",
  "@hono/zod-validator",
  "🎉🔥",
  "cookie 🎉",
  "\u0000",
  "é",
  "e\u0301",
  "日本語",
  "العربية",
  "\\",
  "%",
  "_",
  "'; DROP TABLE sections; --",
  "x".repeat(10_000),
  "cookie ".repeat(2_000),
  randomText(10_240, 1),
  randomText(10_240, 2),
  randomText(300, 3),
];

describe("hostile input through SearchIndex.search", async () => {
  const index = SearchIndex.build(await loadCorpus("hono"));
  afterAll(() => index.close());

  test.each(HOSTILE.map((q) => [q.length > 40 ? `${JSON.stringify(q.slice(0, 40))}… (${q.length} chars)` : JSON.stringify(q), q]))(
    "%s",
    (_, query) => {
      const hits = index.search(query);
      expect(Array.isArray(hits)).toBe(true);
      expect(hits.length).toBeLessThanOrEqual(10);
    },
  );

  test("text without words finds nothing; operators are searched as words", () => {
    expect(index.search("")).toEqual([]);
    expect(index.search("()*:^")).toEqual([]);
    expect(index.search("NOT cookie")[0]?.id).toBe("docs/helpers/cookie");
  });
});
