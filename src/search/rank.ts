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
 *
 * The work is in flat typed arrays reused from one search to the next (a
 * search is synchronous, so one set serves every search), touched only
 * where a term matched: no allocation per matched row, and a cost in
 * proportion to the matches, not to the size of the index.
 */
import type { TermPostings } from "./postings.ts";

/** A ranked page: its index, its best section's rowid (`null` if only the title matched), and the final score. */
export interface RankedPage {
  page: number;
  section: number | null;
  score: number;
}

export interface RankInput {
  /** For each query term (≤ 32, one bit each), the sections it matches (rowid = section rowid). */
  sections: readonly TermPostings[];
  /** For each query term, the page titles it matches (rowid = page index). */
  titles: readonly TermPostings[];
  /** Page index of each section rowid. */
  pageOf: ArrayLike<number>;
  /** Number of sections in the index (the N of the terms' IDF). */
  sectionCount: number;
  /** Number of pages (page indexes are below it). */
  pageCount: number;
  /** Most pages wanted; fewer are ranked exactly than found (default: all). */
  limit?: number;
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

/** Working arrays, grown as needed and cleared where used (see the module comment). */
class Scratch {
  sectionScore = new Float64Array(0);
  sectionSeen = new Uint8Array(0);
  touchedSections = new Int32Array(0);
  pageMask = new Uint32Array(0);
  pageTitle = new Float64Array(0);
  pageSeen = new Uint8Array(0);
  touchedPages = new Int32Array(0);
  /** Per page, its best `keep` sections: rowids and scores, best first, and how many. */
  topRowids = new Int32Array(0);
  topScores = new Float64Array(0);
  topCount = new Uint8Array(0);
  keep = 0;

  prepare(rows: number, pages: number, keep: number): void {
    if (this.sectionScore.length < rows) {
      this.sectionScore = new Float64Array(rows);
      this.sectionSeen = new Uint8Array(rows);
      this.touchedSections = new Int32Array(rows);
    }
    if (this.pageMask.length < pages || this.keep !== keep) {
      const size = Math.max(pages, this.pageMask.length);
      this.pageMask = new Uint32Array(size);
      this.pageTitle = new Float64Array(size);
      this.pageSeen = new Uint8Array(size);
      this.touchedPages = new Int32Array(size);
      this.topRowids = new Int32Array(size * keep);
      this.topScores = new Float64Array(size * keep);
      this.topCount = new Uint8Array(size);
      this.keep = keep;
    }
  }
}

const scratch = new Scratch();

/**
 * Groups term matches by page and ranks the pages, best first. Pure: the same
 * input always gives the same order (ties keep page order).
 *
 * @throws RangeError for more than 32 terms, or titles and sections of different term counts.
 */
export function rankPages(input: RankInput, weights: Readonly<RankWeights> = DEFAULT_WEIGHTS): RankedPage[] {
  const { sections, titles, pageOf, sectionCount, pageCount } = input;
  if (sections.length > 32 || titles.length !== sections.length) {
    throw new RangeError("rankPages: one title and one section list per term, at most 32 terms");
  }
  const terms = sections.length;
  const keep = 1 + Math.max(0, Math.floor(weights.extraSections));

  // Coverage weighs terms by how rare they are among sections (a title word is
  // rare if few pages have it, but counting sections keeps one scale for both).
  const idf = new Float64Array(terms);
  let idfTotal = 0;
  let maxRowid = 0;
  for (let term = 0; term < terms; term++) {
    const n = sections[term]!.count;
    idfTotal += idf[term] = Math.log(1 + (sectionCount - n + 0.5) / (n + 0.5));
    const rowids = sections[term]!.rowids;
    for (let i = 0; i < rowids.length; i++) if (rowids[i]! > maxRowid) maxRowid = rowids[i]!;
  }
  scratch.prepare(maxRowid + 1, pageCount, keep);
  const { sectionScore, sectionSeen, touchedSections, pageMask, pageTitle, pageSeen, touchedPages, topRowids, topScores, topCount } = scratch;
  let sectionsTouched = 0;
  let pagesTouched = 0;
  const touchPage = (page: number) => {
    if (pageSeen[page] === 0) {
      pageSeen[page] = 1;
      touchedPages[pagesTouched++] = page;
    }
  };

  for (let term = 0; term < terms; term++) {
    const bit = (1 << term) >>> 0;
    const { rowids, scores } = sections[term]!;
    for (let i = 0; i < rowids.length; i++) {
      const rowid = rowids[i]!;
      if (sectionSeen[rowid] === 0) {
        sectionSeen[rowid] = 1;
        touchedSections[sectionsTouched++] = rowid;
      }
      sectionScore[rowid]! += scores[i]!;
      const page = pageOf[rowid]!;
      touchPage(page);
      pageMask[page]! |= bit;
    }
    const title = titles[term]!;
    for (let i = 0; i < title.rowids.length; i++) {
      const page = title.rowids[i]!;
      touchPage(page);
      pageMask[page]! |= bit;
      pageTitle[page]! += title.scores[i]!;
    }
  }

  // Each page keeps only its best `keep` sections (score desc, rowid asc).
  for (let i = 0; i < sectionsTouched; i++) {
    const rowid = touchedSections[i]!;
    const page = pageOf[rowid]!;
    const score = sectionScore[rowid]!;
    const base = page * keep;
    let n = topCount[page]!;
    let at = n;
    while (at > 0 && (topScores[base + at - 1]! < score || (topScores[base + at - 1] === score && topRowids[base + at - 1]! > rowid))) at--;
    if (at >= keep) continue;
    for (let j = Math.min(n, keep - 1); j > at; j--) {
      topScores[base + j] = topScores[base + j - 1]!;
      topRowids[base + j] = topRowids[base + j - 1]!;
    }
    topScores[base + at] = score;
    topRowids[base + at] = rowid;
    if (n < keep) topCount[page] = ++n;
  }

  const ranked: RankedPage[] = [];
  for (let i = 0; i < pagesTouched; i++) {
    const page = touchedPages[i]!;
    const base = page * keep;
    const n = topCount[page]!;
    let extra = 0;
    for (let j = 1; j < n; j++) extra += topScores[base + j]!;
    let covered = 0;
    const mask = pageMask[page]!;
    for (let term = 0; term < terms; term++) if (mask & ((1 << term) >>> 0)) covered += idf[term]!;
    const coverage = idfTotal > 0 ? covered / idfTotal : 1;
    const relevance = (n > 0 ? topScores[base]! : 0) + weights.extraSection * extra + weights.title * pageTitle[page]!;
    const score = relevance * (weights.coverageFloor + coverage) ** weights.coveragePower;
    ranked.push({ page, section: n > 0 ? topRowids[base]! : null, score });
  }

  // Clear what was used, for the next search.
  for (let i = 0; i < sectionsTouched; i++) {
    const rowid = touchedSections[i]!;
    sectionScore[rowid] = 0;
    sectionSeen[rowid] = 0;
  }
  for (let i = 0; i < pagesTouched; i++) {
    const page = touchedPages[i]!;
    pageMask[page] = 0;
    pageTitle[page] = 0;
    pageSeen[page] = 0;
    topCount[page] = 0;
  }
  return best(ranked, input.limit);
}

const byScore = (a: RankedPage, b: RankedPage) => b.score - a.score || a.page - b.page;

/** The `limit` best pages, in order: a partial selection when only a few of many are wanted. */
function best(ranked: RankedPage[], limit: number | undefined): RankedPage[] {
  if (limit === undefined || ranked.length <= limit * 4) return ranked.sort(byScore).slice(0, limit ?? ranked.length);
  // Keep a sorted window of the best `limit`, replacing its worst when a better one comes.
  const top = ranked.slice(0, limit).sort(byScore);
  for (let i = limit; i < ranked.length; i++) {
    const candidate = ranked[i]!;
    if (byScore(candidate, top[limit - 1]!) >= 0) continue;
    let at = limit - 1;
    while (at > 0 && byScore(candidate, top[at - 1]!) < 0) at--;
    top.splice(at, 0, candidate);
    top.pop();
  }
  return top;
}
