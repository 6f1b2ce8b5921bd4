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

  const sectionScores = new Map<number, number>();
  const pages = new Map<number, { mask: number; title: number; sections: { rowid: number; score: number }[] }>();
  const page = (index: number) => {
    let entry = pages.get(index);
    if (!entry) pages.set(index, (entry = { mask: 0, title: 0, sections: [] }));
    return entry;
  };

  // Coverage weighs terms by how rare they are among sections (a title word is
  // rare if few pages have it, but counting sections keeps one scale for both).
  const idf = sections.map((m) => Math.log(1 + (sectionCount - m.length + 0.5) / (m.length + 0.5)));
  const idfTotal = idf.reduce((a, b) => a + b, 0);

  sections.forEach((matches, term) => {
    for (const { rowid, score } of matches) {
      sectionScores.set(rowid, (sectionScores.get(rowid) ?? 0) + score);
      page(pageOf(rowid)).mask |= 1 << term;
    }
  });
  titles.forEach((matches, term) => {
    for (const { rowid, score } of matches) {
      const entry = page(rowid);
      entry.mask |= 1 << term;
      entry.title += score;
    }
  });
  for (const [rowid, score] of sectionScores) page(pageOf(rowid)).sections.push({ rowid, score });

  const ranked: RankedPage[] = [];
  for (const [index, { mask, title, sections: scores }] of pages) {
    scores.sort((a, b) => b.score - a.score || a.rowid - b.rowid);
    const best = scores[0] ?? { rowid: null, score: 0 };
    let extra = 0;
    for (const s of scores.slice(1, 1 + weights.extraSections)) extra += s.score;
    let covered = 0;
    idf.forEach((w, term) => {
      if (mask & (1 << term)) covered += w;
    });
    const coverage = idfTotal > 0 ? covered / idfTotal : 1;
    const relevance = best.score + weights.extraSection * extra + weights.title * title;
    const score = relevance * (weights.coverageFloor + coverage) ** weights.coveragePower;
    ranked.push({ page: index, section: best.rowid, score });
  }
  return ranked.sort((a, b) => b.score - a.score || a.page - b.page);
}
