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
import { matchExpression, parseQuery, termExpression } from "./query.ts";
import { DEFAULT_WEIGHTS, rankPages, type RankWeights, type TermMatch } from "./rank.ts";

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
/** Tokens around the match in a snippet (FTS5 allows at most 64). */
const SNIPPET_TOKENS = 28;
const TOKENIZE = `tokenize = 'porter unicode61 remove_diacritics 2'`;

export interface BuildOptions {
  /** Ranking weights, for tuning; defaults to {@link DEFAULT_WEIGHTS}. */
  weights?: Partial<RankWeights>;
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
  readonly #sectionQuery: Statement<unknown, [string]>;
  readonly #titleQuery: Statement<unknown, [string]>;
  readonly #snippetQuery: Statement<{ snippet: string }, [string, number]>;
  readonly #bodyQuery: Statement<{ body: string }, [number]>;

  private constructor(db: Database, pages: PageRow[], sections: SectionRow[], weights: Readonly<RankWeights>) {
    this.#db = db;
    this.#weights = weights;
    this.#pages = pages;
    this.#sections = sections;
    this.pageCount = pages.length;
    this.sectionCount = sections.length;
    const { heading, body, identifiers } = COLUMN_WEIGHTS;
    this.#sectionQuery = db.query(
      `SELECT rowid, bm25(sections, ${heading}, ${body}, ${identifiers}) FROM sections WHERE sections MATCH ?1`,
    );
    this.#titleQuery = db.query(`SELECT rowid, bm25(titles) FROM titles WHERE titles MATCH ?1`);
    this.#snippetQuery = db.query(
      `SELECT snippet(sections, 1, '', '', '…', ${SNIPPET_TOKENS}) AS snippet
         FROM sections WHERE sections MATCH ?1 AND rowid = ?2`,
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
    return new SearchIndex(db, pageRows, sectionRows, { ...DEFAULT_WEIGHTS, ...options.weights });
  }

  /**
   * Pages matching `query`, best first, one hit per page. Any text is a valid
   * query (see {@link parseQuery}); text without letters or digits finds nothing.
   */
  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const terms = parseQuery(query);
    if (terms.length === 0) return [];

    const expressions = terms.map(termExpression);
    const ranked = rankPages(
      {
        sections: expressions.map((e) => matchesOf(this.#sectionQuery, e)),
        // Title rowids are page indexes + 1 (rowid 0 is not a good idea in SQLite).
        titles: expressions.map((e) => matchesOf(this.#titleQuery, e, -1)),
        pageOf: (rowid) => this.#sections[rowid - 1]!.page,
        sectionCount: this.sectionCount,
      },
      this.#weights,
    );

    const match = matchExpression(terms);
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

  /** Frees the database; the index must not be used afterwards. */
  close(): void {
    this.#db.close();
  }

  #snippet(match: string, rowid: number): string {
    const text = this.#snippetQuery.get(match, rowid)?.snippet ?? this.#bodyQuery.get(rowid)?.body ?? "";
    if (text.trim()) return excerpt(text, SNIPPET_MAX_CHARS);
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
 * Runs a per-term statement selecting `rowid, bm25(…)`. bm25() is negative (more
 * negative is better); the scores returned are not. `shift` is added to rowids.
 */
function matchesOf(statement: Statement<unknown, [string]>, expression: string, shift = 0): TermMatch[] {
  const rows = statement.values(expression) as [number, number][];
  return rows.map(([rowid, rank]) => ({ rowid: rowid + shift, score: -rank }));
}

function withIdentifierWords(text: string): string {
  const words = identifierWords(text);
  return words ? `${text} ${words}` : text;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIMIT;
  return Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit)));
}
