/**
 * Page ranking from per-term matches.
 *
 * FTS5 scores sections and page titles separately; users want pages. A page
 * scores its best section, a little for its other matching sections, and its
 * title match, all scaled by coverage: the IDF-weighted share of query terms
 * found anywhere in the page. Coverage is what keeps a page that mentions one
 * rare word many times from beating the page that answers most of the question.
 *
 * Titles are scored against the pages, not repeated in every section: that
 * would make a title word look as common as the page is long, and its IDF
 * (what makes `bearer` count for more than `header`) would drop accordingly.
 */

/** One row matched by one term; `score` is BM25 made positive (higher is better). */
export interface TermMatch {
  rowid: number;
  score: number;
}

/** A ranked page: its index, its best section's rowid (`null` if only the title matched), and the final score. */
export interface RankedPage {
  page: number;
  section: number | null;
  score: number;
}

export interface RankInput {
  /** For each query term (≤ 32, one bit each), the sections it matches (rowid = section rowid). */
  sections: readonly (readonly TermMatch[])[];
  /** For each query term, the page titles it matches (rowid = page index). */
  titles: readonly (readonly TermMatch[])[];
  /** Page index of a section rowid. */
  pageOf: (rowid: number) => number;
  /** Number of sections in the index (the N of the terms' IDF). */
  sectionCount: number;
}

export interface RankWeights {
  /** Weight of a title match, relative to the best section's score. */
  title: number;
  /** Weight of each of a page's next best sections, relative to its best one. */
  extraSection: number;
  /** How many of a page's other sections count toward that bonus. */
  extraSections: number;
  /** Final score = relevance × (coverageFloor + coverage)^coveragePower, coverage in 0…1. */
  coverageFloor: number;
  coveragePower: number;
}

/**
 * Chosen on the Hono question set (test/support/relevance.ts). Relevance is flat
 * around these values (MRR@10 0.93–0.945 for title 1–4, extraSection 0–0.3,
 * coverageFloor 0.1–1, coveragePower 1–3), so they are not a fragile optimum.
 */
export const DEFAULT_WEIGHTS: Readonly<RankWeights> = {
  title: 2,
  extraSection: 0.15,
  extraSections: 3,
  coverageFloor: 0.25,
  coveragePower: 2,
};

/**
 * Groups term matches by page and ranks the pages, best first. Pure: the same
 * input always gives the same order (ties keep page order).
 */
export function rankPages(input: RankInput, weights: Readonly<RankWeights> = DEFAULT_WEIGHTS): RankedPage[] {
  const { sections, titles, pageOf, sectionCount } = input;
  if (sections.length > 32 || titles.length !== sections.length) {
    throw new RangeError("rankPages: one title and one section list per term, at most 32 terms");
  }
  const terms = sections.length;

  // Coverage weighs terms by how rare they are among sections (a title word is
  // rare if few pages have it, but counting sections keeps one scale for both).
  const idf = new Float64Array(terms);
  let idfTotal = 0;
  let maxRowid = sectionCount;
  for (let term = 0; term < terms; term++) {
    const matches = sections[term]!;
    const n = matches.length;
    idfTotal += idf[term] = Math.log(1 + (sectionCount - n + 0.5) / (n + 0.5));
    for (let i = 0; i < n; i++) if (matches[i]!.rowid > maxRowid) maxRowid = matches[i]!.rowid;
  }

  // Section scores summed over terms, in a flat array indexed by rowid; `touched`
  // lists the rowids set, in first-seen order.
  const sectionScores = new Float64Array(maxRowid + 1);
  const seen = new Uint8Array(maxRowid + 1);
  const touched: number[] = [];
  // Page entries by page index, and the indexes in first-seen order.
  const byPage: (PageEntry | undefined)[] = [];
  const pages: number[] = [];
  const page = (index: number): PageEntry => {
    let entry = byPage[index];
    if (entry === undefined) {
      entry = { mask: 0, title: 0, top: [], topScores: [] };
      byPage[index] = entry;
      pages.push(index);
    }
    return entry;
  };

  for (let term = 0; term < terms; term++) {
    const matches = sections[term]!;
    const bit = 1 << term;
    for (let i = 0; i < matches.length; i++) {
      const { rowid, score } = matches[i]!;
      if (seen[rowid] === 0) {
        seen[rowid] = 1;
        touched.push(rowid);
      }
      sectionScores[rowid] = sectionScores[rowid]! + score;
      page(pageOf(rowid)).mask |= bit;
    }
    const titleMatches = titles[term]!;
    for (let i = 0; i < titleMatches.length; i++) {
      const { rowid, score } = titleMatches[i]!;
      const entry = page(rowid);
      entry.mask |= bit;
      entry.title += score;
    }
  }

  // Each page keeps only its best 1 + extraSections sections (score desc, rowid asc).
  const keep = 1 + Math.max(0, Math.floor(weights.extraSections));
  for (let i = 0; i < touched.length; i++) {
    const rowid = touched[i]!;
    insertTop(page(pageOf(rowid)), rowid, sectionScores[rowid]!, keep);
  }

  const ranked: RankedPage[] = [];
  for (const index of pages) {
    const { mask, title, top, topScores } = byPage[index]!;
    let extra = 0;
    for (let i = 1; i < top.length; i++) extra += topScores[i]!;
    let covered = 0;
    for (let term = 0; term < terms; term++) if (mask & (1 << term)) covered += idf[term]!;
    const coverage = idfTotal > 0 ? covered / idfTotal : 1;
    const relevance = (topScores[0] ?? 0) + weights.extraSection * extra + weights.title * title;
    const score = relevance * (weights.coverageFloor + coverage) ** weights.coveragePower;
    ranked.push({ page: index, section: top[0] ?? null, score });
  }
  return ranked.sort((a, b) => b.score - a.score || a.page - b.page);
}

interface PageEntry {
  mask: number;
  title: number;
  /** Rowids of the best sections, best first, and their scores. */
  top: number[];
  topScores: number[];
}

function insertTop(entry: PageEntry, rowid: number, score: number, keep: number): void {
  const { top, topScores } = entry;
  let i = top.length;
  while (i > 0 && (topScores[i - 1]! < score || (topScores[i - 1] === score && top[i - 1]! > rowid))) i--;
  if (i >= keep) return;
  top.splice(i, 0, rowid);
  topScores.splice(i, 0, score);
  if (top.length > keep) {
    top.pop();
    topScores.pop();
  }
}
