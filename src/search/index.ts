/**
 * Full-text search over documentation pages: SQLite FTS5 (in memory, through
 * `bun:sqlite`) ranks sections, {@link rankPages} turns that into one hit per
 * page.
 */
import { Database, type Statement } from "bun:sqlite";
import type { Page } from "../docs/page.ts";
import { splitSections } from "../docs/sections.ts";
import { identifierWords } from "./identifiers.ts";
import { excerpt, markdownToText } from "./plaintext.ts";
import { parseQuery, termExpression, type QueryTerm } from "./query.ts";
import { DEFAULT_WEIGHTS, rankPages, type RankWeights, type TermMatch } from "./rank.ts";
import { buildVocabulary } from "./vocabulary.ts";

/** One search result: a page, pointing at its best-matching section. */
export interface SearchHit {
  /** Page id (see {@link Page.id}). */
  id: string;
  title: string;
  /**
   * Page URL, plus `#anchor` of the best section, except for the part before the
   * first heading and for pages that matched by title only.
   */
  url: string;
  /** Heading of the best section (the page title for the part before the first heading). */
  heading: string;
  /** Plain-text excerpt of the best section around the matching words, at most {@link SNIPPET_MAX_CHARS}. */
  snippet: string;
  /** Relevance; higher is better. Only comparable within one result list. */
  score: number;
}

export interface SearchOptions {
  /** Most hits returned: default {@link DEFAULT_LIMIT}, clamped to 1…{@link MAX_LIMIT}. */
  limit?: number;
}

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 50;
export const SNIPPET_MAX_CHARS = 300;

/**
 * BM25 weights of the section columns. A heading is the author's own summary
 * of its section, so a word there says far more than the same word in the
 * text. Identifier parts (`bodyLimit` → `body limit`) are a weaker echo of the
 * body. Page titles live in their own table, weighed by {@link RankWeights}.
 */
const COLUMN_WEIGHTS = { heading: 4, body: 1, identifiers: 0.5 } as const;
/** Tokens in a snippet, as in FTS5's snippet() this replaces. */
const SNIPPET_TOKENS = 28;
/** A token of the unicode61 tokenizer, roughly. */
const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;
/** Characters of context kept before the first matching word of a snippet. */
const SNIPPET_LEAD_CHARS = 40;
/** Per-term match lists cached by each index (it is immutable, so they never go stale). */
const TERM_CACHE_SIZE = 256;
const TOKENIZE = `tokenize = 'porter unicode61 remove_diacritics 2'`;

export interface BuildOptions {
  /** Ranking weights, for tuning; defaults to {@link DEFAULT_WEIGHTS}. */
  weights?: Partial<RankWeights>;
  /** Per-term match lists kept per table (LRU), default {@link TERM_CACHE_SIZE}; 0 disables the cache. */
  termCacheSize?: number;
}

interface PageRow {
  id: string;
  title: string;
  url: string;
  /** Rowid of the page's first section. */
  lead: number;
}

interface SectionRow {
  page: number;
  heading: string;
  anchor: string;
}

/**
 * An immutable search index over a set of pages. Build it once with
 * {@link SearchIndex.build}; searching is synchronous and safe for any input.
 * Call {@link SearchIndex.close} to free the SQLite database.
 *
 * Two FTS5 tables: `sections` (heading, body, identifier parts), which
 * {@link rankPages} turns into one hit per page, and `titles` (one row per page,
 * rowid = page index + 1).
 */
export class SearchIndex {
  readonly pageCount: number;
  readonly sectionCount: number;

  readonly #db: Database;
  readonly #weights: Readonly<RankWeights>;
  readonly #pages: readonly PageRow[];
  /** Indexed by rowid - 1. */
  readonly #sections: readonly SectionRow[];
  readonly #sectionMatches: TermMatcher;
  readonly #titleMatches: TermMatcher;
  readonly #bodyQuery: Statement<{ body: string }, [number]>;
  #vocabulary: ReadonlyMap<string, number> | undefined;

  private constructor(
    db: Database,
    pages: PageRow[],
    sections: SectionRow[],
    weights: Readonly<RankWeights>,
    cacheSize: number,
  ) {
    this.#db = db;
    this.#weights = weights;
    this.#pages = pages;
    this.#sections = sections;
    this.pageCount = pages.length;
    this.sectionCount = sections.length;
    const { heading, body, identifiers } = COLUMN_WEIGHTS;
    this.#sectionMatches = new TermMatcher(
      db.query(`SELECT rowid, bm25(sections, ${heading}, ${body}, ${identifiers}) FROM sections WHERE sections MATCH ?1`),
      db.query(`SELECT rowid FROM sections WHERE sections MATCH ?1`),
      sections.length,
      0,
      cacheSize,
    );
    // Title rowids are page indexes + 1 (rowid 0 is not a good idea in SQLite).
    this.#titleMatches = new TermMatcher(
      db.query(`SELECT rowid, bm25(titles) FROM titles WHERE titles MATCH ?1`),
      db.query(`SELECT rowid FROM titles WHERE titles MATCH ?1`),
      pages.length,
      -1,
      cacheSize,
    );
    this.#bodyQuery = db.query(`SELECT body FROM sections WHERE rowid = ?1`);
  }

  /** Indexes the pages (split with {@link splitSections}) into a fresh in-memory database. */
  static build(pages: readonly Page[], options: BuildOptions = {}): SearchIndex {
    const db = new Database(":memory:");
    db.run(`CREATE VIRTUAL TABLE sections USING fts5(heading, body, identifiers, ${TOKENIZE})`);
    db.run(`CREATE VIRTUAL TABLE titles USING fts5(title, ${TOKENIZE})`);
    const insertSection = db.prepare<void, [number, string, string, string]>(
      `INSERT INTO sections (rowid, heading, body, identifiers) VALUES (?1, ?2, ?3, ?4)`,
    );
    const insertTitle = db.prepare<void, [number, string]>(`INSERT INTO titles (rowid, title) VALUES (?1, ?2)`);
    const pageRows: PageRow[] = [];
    const sectionRows: SectionRow[] = [];
    db.transaction(() => {
      for (const page of pages) {
        const lead = sectionRows.length + 1;
        const pageIndex = pageRows.push({ id: page.id, title: page.title, url: page.url, lead }) - 1;
        insertTitle.run(pageIndex + 1, withIdentifierWords(page.title));
        for (const section of splitSections(page)) {
          let body = markdownToText(section.text);
          // Summary and tags describe the whole page; the lead section is where they belong.
          if (section.level === 0) {
            body = [page.summary, page.tags?.join(" "), body].filter(Boolean).join("\n");
          }
          const rowid = sectionRows.push({ page: pageIndex, heading: section.heading, anchor: section.anchor });
          // Only snippets read stored text back, and only from `body`, so the other
          // columns may carry extra words: identifier parts go there, not into the body.
          insertSection.run(rowid, withIdentifierWords(section.heading), body, identifierWords(body));
        }
      }
    })();
    insertSection.finalize();
    insertTitle.finalize();
    const cacheSize = Math.max(0, Math.floor(options.termCacheSize ?? TERM_CACHE_SIZE));
    return new SearchIndex(db, pageRows, sectionRows, { ...DEFAULT_WEIGHTS, ...options.weights }, cacheSize);
  }

  /**
   * Pages matching `query`, best first, one hit per page. Any text is a valid
   * query (see {@link parseQuery}); text without letters or digits finds nothing.
   */
  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const terms = parseQuery(query);
    if (terms.length === 0) return [];

    const expressions = terms.map(termExpression);
    const sections = this.#sections;
    const ranked = rankPages(
      {
        sections: expressions.map((e) => this.#sectionMatches.get(e)),
        titles: expressions.map((e) => this.#titleMatches.get(e)),
        pageOf: (rowid) => sections[rowid - 1]!.page,
        sectionCount: this.sectionCount,
      },
      this.#weights,
    );

    let finder: RegExp | null | undefined;
    const match = (): RegExp | null => (finder === undefined ? (finder = wordFinder(terms)) : finder);
    return ranked.slice(0, clampLimit(options.limit)).map(({ page, section, score }) => {
      const pageRow = this.#pages[page]!;
      // Only the title matched: the hit is the page itself, shown from its top.
      const rowid = section ?? pageRow.lead;
      const sectionRow = section === null ? null : this.#sections[section - 1]!;
      return {
        id: pageRow.id,
        title: pageRow.title,
        url: sectionRow?.anchor ? `${pageRow.url}#${sectionRow.anchor}` : pageRow.url,
        heading: sectionRow?.heading ?? pageRow.title,
        snippet: this.#snippet(match, rowid),
        score,
      };
    });
  }

  /** Sections and titles matching `word` as the index stems it; 0 for a word it does not know (typo correction). */
  matchCount(word: string): number {
    const expression = termExpression({ words: [word], prefix: false });
    return this.#sectionMatches.get(expression).length + this.#titleMatches.get(expression).length;
  }

  /** The words of the sections' text and how many sections hold each (see vocabulary.ts), read on first use. */
  vocabulary(): ReadonlyMap<string, number> {
    this.#vocabulary ??= buildVocabulary(
      (this.#db.query(`SELECT heading || ' ' || body AS text FROM sections`).values() as [string][]).map((row) => row[0]),
    );
    return this.#vocabulary;
  }

  /** Frees the database; the index must not be used afterwards. */
  close(): void {
    this.#db.close();
  }

  /**
   * The section's body from a little before its first matching word (see
   * {@link wordFinder}), or from its beginning if no word of it matches (the
   * match was in the heading, identifiers or title).
   */
  #snippet(match: () => RegExp | null, rowid: number): string {
    const body = this.#bodyQuery.get(rowid)?.body ?? "";
    if (body.trim()) return snippetOf(body, match());
    // A heading directly followed by subheadings ("## Options") has no text of its own;
    // the next section of the same page is what the reader lands on.
    const next = this.#sections[rowid];
    if (next && next.page === this.#sections[rowid - 1]!.page) {
      return excerpt(this.#bodyQuery.get(rowid + 1)?.body ?? "", SNIPPET_MAX_CHARS);
    }
    return "";
  }
}

/**
 * The rows one term (an FTS5 expression) matches in one table, with their BM25
 * scores made positive, cached in a small LRU.
 *
 * FTS5's bm25() gives a term in at least half of the rows an IDF of 1e-6, so its
 * scores are noise; computing them (a document-size lookup per row) is what
 * makes common words slow. Such a term's rows are fetched without bm25() and
 * score 0: the rows still count for coverage and IDF in {@link rankPages}.
 */
class TermMatcher {
  readonly #scored: Statement<unknown, [string]>;
  readonly #rowids: Statement<unknown, [string]>;
  readonly #rowCount: number;
  readonly #shift: number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, readonly TermMatch[]>();

  constructor(
    scored: Statement<unknown, [string]>,
    rowids: Statement<unknown, [string]>,
    rowCount: number,
    shift: number,
    cacheSize: number,
  ) {
    this.#scored = scored;
    this.#rowids = rowids;
    this.#rowCount = rowCount;
    this.#shift = shift;
    this.#cacheSize = cacheSize;
  }

  get(expression: string): readonly TermMatch[] {
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

  #query(expression: string): TermMatch[] {
    const shift = this.#shift;
    const ids = this.#rowids.values(expression) as [number][];
    const n = ids.length;
    const out = new Array<TermMatch>(n);
    // Same test as FTS5's bm25(): idf = log((N - n + 0.5) / (n + 0.5)) <= 0.
    if (n > 0 && this.#rowCount - n + 0.5 <= n + 0.5) {
      for (let i = 0; i < n; i++) out[i] = { rowid: ids[i]![0] + shift, score: 0 };
      return out;
    }
    if (n === 0) return out;
    // bm25() is negative (more negative is better); the scores returned are not.
    const rows = this.#scored.values(expression) as [number, number][];
    out.length = rows.length;
    for (let i = 0; i < rows.length; i++) out[i] = { rowid: rows[i]![0] + shift, score: -rows[i]![1] };
    return out;
  }
}

/**
 * A regular expression finding, case-insensitively, the start of a word that
 * begins with one of the terms' stems (see {@link roughStem}), or `null` for no
 * usable term. Group i + 1 matches term i.
 */
function wordFinder(terms: readonly QueryTerm[]): RegExp | null {
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
function snippetOf(body: string, finder: RegExp | null): string {
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

function withIdentifierWords(text: string): string {
  const words = identifierWords(text);
  return words ? `${text} ${words}` : text;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIMIT;
  return Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit)));
}
