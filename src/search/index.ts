/**
 * Full-text search over documentation pages. SQLite FTS5 (in memory, through
 * `bun:sqlite`) is the tokenizer and answers phrases and prefixes; each
 * word's postings are counted once, at build, and scored as FTS5's bm25()
 * scores them (postings.ts); {@link rankPages} turns the matches into one
 * hit per page.
 */
import { Database } from "bun:sqlite";
import type { Page } from "../docs/page.ts";
import { splitSections } from "../docs/sections.ts";
import { runAtOnce, runGradually, type Steps } from "./gradual.ts";
import { identifierWords } from "./identifiers.ts";
import { excerpt, markdownToText } from "./plaintext.ts";
import { Postings, PostingsBuilder, type TermPostings } from "./postings.ts";
import { parseQuery, termExpression, type QueryTerm } from "./query.ts";
import { DEFAULT_WEIGHTS, rankPages, type RankWeights } from "./rank.ts";
import { SNIPPET_MAX_CHARS, snippetOf, wordFinder, type WordFinder } from "./snippet.ts";
import { decodeSnapshot, encodeSnapshot, pagesFingerprint, SNAPSHOT_FORMAT } from "./snapshot.ts";
import { Stems } from "./stems.ts";
import { TermMatcher } from "./term-matcher.ts";
import { buildVocabulary } from "./vocabulary.ts";

export { SNIPPET_MAX_CHARS } from "./snippet.ts";

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

/**
 * BM25 weights of the section columns. A heading is the author's own summary
 * of its section, so a word there says far more than the same word in the
 * text. Identifier parts (`bodyLimit` → `body limit`) are a weaker echo of the
 * body. Page titles live in their own table, weighed by {@link RankWeights}.
 */
const COLUMN_WEIGHTS = { heading: 4, body: 1, identifiers: 0.5 } as const;
/** Phrase and prefix match lists cached by each index (it is immutable, so they never go stale). */
const TERM_CACHE_SIZE = 256;
const TOKENIZE = `tokenize = 'porter unicode61 remove_diacritics 2'`;

export interface BuildOptions {
  /** Ranking weights, for tuning; defaults to {@link DEFAULT_WEIGHTS}. */
  weights?: Partial<RankWeights>;
  /** Phrase and prefix match lists kept per table (LRU), default {@link TERM_CACHE_SIZE}; 0 disables the cache. */
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
  /** The section's plain text (see markdownToText) on one line, for snippets. */
  body: string;
}

/**
 * An immutable search index over a set of pages. Build it once with
 * {@link SearchIndex.build}; searching is synchronous and safe for any input.
 * Call {@link SearchIndex.close} to free the SQLite database.
 *
 * Two FTS5 tables: `sections` (heading, body, identifier parts), which
 * {@link rankPages} turns into one hit per page, and `titles` (one row per page,
 * rowid = page index + 1). A query word is looked up in each table's
 * precomputed postings (postings.ts), after FTS5's own tokenizer made it a
 * term (stems.ts); a phrase or a prefix is asked of FTS5 itself.
 */
export class SearchIndex {
  readonly pageCount: number;
  readonly sectionCount: number;

  readonly #db: Database;
  readonly #weights: Readonly<RankWeights>;
  readonly #pages: readonly PageRow[];
  /** Indexed by rowid - 1. */
  readonly #sections: readonly SectionRow[];
  /** Page index of each section rowid. */
  readonly #pageOf: Int32Array;
  readonly #sectionPostings: Postings;
  readonly #titlePostings: Postings;
  readonly #stems: Stems;
  readonly #sectionMatches: TermMatcher;
  readonly #titleMatches: TermMatcher;
  #vocabulary: ReadonlyMap<string, number> | undefined;
  /** {@link matchCount}'s answers: typo correction asks it of every word of every search, and words repeat. */
  readonly #matchCounts = new Map<string, number>();
  #closed = false;

  private constructor(
    db: Database,
    pages: PageRow[],
    sections: SectionRow[],
    weights: Readonly<RankWeights>,
    postings: { sections: Postings; titles: Postings; stems: Stems },
    cacheSize: number,
  ) {
    this.#db = db;
    this.#weights = weights;
    this.#pages = pages;
    this.#sections = sections;
    this.pageCount = pages.length;
    this.sectionCount = sections.length;
    this.#pageOf = new Int32Array(sections.length + 1);
    for (let i = 0; i < sections.length; i++) this.#pageOf[i + 1] = sections[i]!.page;
    this.#sectionPostings = postings.sections;
    this.#titlePostings = postings.titles;
    this.#stems = postings.stems;
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
  }

  /** Indexes the pages (split with {@link splitSections}) into a fresh in-memory database. */
  static build(pages: readonly Page[], options: BuildOptions = {}): SearchIndex {
    return runAtOnce(SearchIndex.#steps(pages, options));
  }

  /**
   * {@link build}, a few milliseconds at a time (gradual.ts): a server
   * refreshing a large set keeps answering from its current index
   * meanwhile. Slower in all by a little, and by nothing for a small set.
   */
  static buildGradually(pages: readonly Page[], options: BuildOptions = {}): Promise<SearchIndex> {
    return runGradually(SearchIndex.#steps(pages, options));
  }

  static *#steps(pages: readonly Page[], options: BuildOptions): Steps<SearchIndex> {
    const db = new Database(":memory:");
    try {
      // The FTS5 tables keep no copy of their text (content=''): only snippets
      // read text back, and they read it from the section rows, where a lookup
      // costs nothing (a query by rowid cost 3 µs, a tenth of a search).
      db.run(`CREATE VIRTUAL TABLE sections USING fts5(heading, body, identifiers, content='', ${TOKENIZE})`);
      db.run(`CREATE VIRTUAL TABLE titles USING fts5(title, content='', ${TOKENIZE})`);
      const insertSection = db.prepare<void, [number, string, string, string]>(
        `INSERT INTO sections (rowid, heading, body, identifiers) VALUES (?1, ?2, ?3, ?4)`,
      );
      const insertTitle = db.prepare<void, [number, string]>(`INSERT INTO titles (rowid, title) VALUES (?1, ?2)`);
      const pageRows: PageRow[] = [];
      const sectionRows: SectionRow[] = [];
      const sectionPostings = new PostingsBuilder([COLUMN_WEIGHTS.heading, COLUMN_WEIGHTS.body, COLUMN_WEIGHTS.identifiers]);
      const titlePostings = new PostingsBuilder([1]);
      // One transaction (nothing else uses this database until it is built), open across pauses.
      db.run("BEGIN");
      for (const page of pages) {
        const lead = sectionRows.length + 1;
        const pageIndex = pageRows.push({ id: page.id, title: page.title, url: page.url, lead }) - 1;
        const title = withIdentifierWords(page.title);
        insertTitle.run(pageIndex + 1, title);
        titlePostings.add(pageIndex + 1, [title]);
        for (const section of splitSections(page)) {
          let body = markdownToText(section.text);
          // Summary and tags describe the whole page; the lead section is where they belong.
          if (section.level === 0) {
            body = [page.summary, page.tags?.join(" "), body].filter(Boolean).join("\n");
          }
          // On one line: snippets are cut from it as they are, with no whitespace to collapse per hit.
          body = body.replace(/\s+/g, " ").trim();
          const rowid = sectionRows.push({ page: pageIndex, heading: section.heading, anchor: section.anchor, body });
          // Snippets show only `body`, so the other columns may carry extra
          // words: identifier parts go there, not into the body.
          const columns = [withIdentifierWords(section.heading), body, identifierWords(body)] as const;
          insertSection.run(rowid, ...columns);
          sectionPostings.add(rowid, columns);
        }
        yield;
      }
      db.run("COMMIT");
      insertSection.finalize();
      insertTitle.finalize();
      const stems = new Stems(db, TOKENIZE);
      const tokenize = (words: readonly string[]) => stems.uncached(words);
      const sections = yield* sectionPostings.steps(tokenize);
      const titles = yield* titlePostings.steps(tokenize, -1);
      const cacheSize = Math.max(0, Math.floor(options.termCacheSize ?? TERM_CACHE_SIZE));
      return new SearchIndex(db, pageRows, sectionRows, { ...DEFAULT_WEIGHTS, ...options.weights }, { sections, titles, stems }, cacheSize);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * The index as bytes (snapshot.ts), for {@link restore}: the embedded
   * guide's index is built when the server is compiled.
   */
  snapshot(pages: readonly Page[]): Uint8Array {
    return encodeSnapshot({
      header: {
        format: SNAPSHOT_FORMAT,
        fingerprint: pagesFingerprint(pages),
        pages: this.#pages.map(({ id, lead }) => ({ id, lead })),
        sections: [...this.#sections],
        sectionTerms: [...this.#sectionPostings.terms()],
        titleTerms: [...this.#titlePostings.terms()],
      },
      database: this.#db.serialize(),
      sections: this.#sectionPostings.parts(),
      titles: this.#titlePostings.parts(),
    });
  }

  /**
   * The index of `pages` back from a {@link snapshot} of it, in a fraction of
   * the time a build takes; `undefined` when the snapshot is not of these
   * pages (or not of this format): build it then. Titles and URLs are taken
   * from `pages`, so a snapshot serves any base URL.
   */
  static restore(snapshot: Uint8Array, pages: readonly Page[], options: BuildOptions = {}): SearchIndex | undefined {
    const parts = decodeSnapshot(snapshot);
    if (!parts || parts.header.fingerprint !== pagesFingerprint(pages) || parts.header.pages.some((row, i) => row.id !== pages[i]?.id)) return undefined;
    const db = Database.deserialize(parts.database);
    const pageRows = parts.header.pages.map(({ id, lead }, i) => ({ id, title: pages[i]!.title, url: pages[i]!.url, lead }));
    const postings = { sections: Postings.fromParts(parts.sections), titles: Postings.fromParts(parts.titles), stems: new Stems(db, TOKENIZE) };
    const cacheSize = Math.max(0, Math.floor(options.termCacheSize ?? TERM_CACHE_SIZE));
    return new SearchIndex(db, pageRows, parts.header.sections, { ...DEFAULT_WEIGHTS, ...options.weights }, postings, cacheSize);
  }

  /**
   * Pages matching `query`, best first, one hit per page. Any text is a valid
   * query (see {@link parseQuery}); text without letters or digits finds nothing.
   */
  search(query: string, options: SearchOptions = {}): SearchHit[] {
    // Most searches never touch the database (postings.ts), so a closed one would not fail by itself.
    if (this.#closed) throw new Error("SearchIndex.search: the index was closed");
    const terms = parseQuery(query);
    if (terms.length === 0) return [];

    const matched = this.#matches(terms);
    const limit = clampLimit(options.limit);
    const ranked = rankPages(
      { sections: matched.sections, titles: matched.titles, pageOf: this.#pageOf, sectionCount: this.sectionCount, pageCount: this.pageCount, limit },
      this.#weights,
    );

    let finder: WordFinder | null | undefined;
    const match = (): WordFinder | null => (finder === undefined ? (finder = wordFinder(terms)) : finder);
    return ranked.map(({ page, section, score }) => {
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

  /**
   * Each term's matches in both tables. A single word is its FTS5 term's
   * postings (none when the word is not in the index, or when the tokenizer
   * makes it more than one term: that is asked of FTS5 as a phrase); a
   * phrase or prefix is asked of FTS5.
   */
  #matches(terms: readonly QueryTerm[]): { sections: TermPostings[]; titles: TermPostings[] } {
    const single = terms.map((term) => term.words.length === 1 && !term.prefix);
    const stemmed = this.#stems.of(terms.filter((_, i) => single[i]).map((term) => term.words[0]!));
    const sections: TermPostings[] = [];
    const titles: TermPostings[] = [];
    let next = 0;
    terms.forEach((term, i) => {
      const stems = single[i] ? stemmed[next++]! : undefined;
      if (stems?.length === 1) {
        sections.push(this.#sectionPostings.get(stems[0]!) ?? NONE);
        titles.push(this.#titlePostings.get(stems[0]!) ?? NONE);
      } else if (stems?.length === 0) {
        sections.push(NONE);
        titles.push(NONE);
      } else {
        const expression = termExpression(term);
        sections.push(this.#sectionMatches.get(expression));
        titles.push(this.#titleMatches.get(expression));
      }
    });
    return { sections, titles };
  }

  /** Sections and titles matching `word` as the index stems it; 0 for a word it does not know (typo correction). */
  matchCount(word: string): number {
    const known = this.#matchCounts.get(word);
    if (known !== undefined) return known;
    const { sections, titles } = this.#matches([{ words: [word], prefix: false }]);
    const count = sections[0]!.count + titles[0]!.count;
    // Bounded as the other caches of words are: the oldest entry goes.
    if (this.#matchCounts.size >= MATCH_COUNT_CACHE) this.#matchCounts.delete(this.#matchCounts.keys().next().value!);
    this.#matchCounts.set(word, count);
    return count;
  }

  /** The words of the sections' text and how many sections hold each (see vocabulary.ts), read on first use. */
  vocabulary(): ReadonlyMap<string, number> {
    this.#vocabulary ??= buildVocabulary(this.#sections.map((section) => `${section.heading} ${section.body}`));
    return this.#vocabulary;
  }

  /** Frees the database; searching afterwards throws. */
  close(): void {
    this.#closed = true;
    this.#db.close();
  }

  /**
   * The section's body from a little before its first matching word (see
   * {@link wordFinder}), or from its beginning if no word of it matches (the
   * match was in the heading, identifiers or title).
   */
  #snippet(match: () => WordFinder | null, rowid: number): string {
    const body = this.#sections[rowid - 1]!.body;
    if (body.trim()) return snippetOf(body, match());
    // A heading directly followed by subheadings ("## Options") has no text of its own;
    // the next section of the same page is what the reader lands on.
    const next = this.#sections[rowid];
    if (next && next.page === this.#sections[rowid - 1]!.page) {
      return excerpt(next.body, SNIPPET_MAX_CHARS);
    }
    return "";
  }
}

/** Most words whose match count is remembered per index. */
const MATCH_COUNT_CACHE = 4096;

/** What a term the index does not have matches. */
const NONE: TermPostings = { rowids: new Int32Array(0), scores: new Float32Array(0), count: 0 };

function withIdentifierWords(text: string): string {
  const words = identifierWords(text);
  return words ? `${text} ${words}` : text;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIMIT;
  return Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit)));
}
