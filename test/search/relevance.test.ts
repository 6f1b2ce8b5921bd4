/**
 * Relevance on real documentation: developer questions against the Hono docs,
 * scored as top-3 rate and MRR@10, and compared with MiniSearch. Failures here
 * call for better ranking, not for different questions.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { SearchIndex } from "../../src/search/index.ts";
import { loadCorpus } from "../support/corpora.ts";
import {
  evaluate,
  formatMisses,
  formatSummary,
  HONO_CASES,
  miniSearchRanker,
  searchIndexRanker,
} from "../support/relevance.ts";

describe("relevance on the Hono docs", async () => {
  const pages = await loadCorpus("hono");
  const index = SearchIndex.build(pages);
  afterAll(() => index.close());

  const ours = evaluate(HONO_CASES, searchIndexRanker(index));
  const baseline = evaluate(HONO_CASES, miniSearchRanker(pages));
  console.log(`\n${HONO_CASES.length} questions\n${formatSummary(ours, baseline)}\n\nNot in the top 3 for one of them:\n${formatMisses(ours, baseline)}\n`);

  test("the questions are many and point at real pages", () => {
    const ids = new Set(pages.map((p) => p.id));
    expect(HONO_CASES.length).toBeGreaterThanOrEqual(40);
    for (const c of HONO_CASES) for (const id of c.expected) expect(ids).toContain(id);
  });

  test("the expected page is in the top 3 for at least 90% of the questions", () => {
    expect(ours.top3).toBeGreaterThanOrEqual(0.9);
  });

  test("mean reciprocal rank is at least MiniSearch's", () => {
    expect(ours.mrr).toBeGreaterThanOrEqual(baseline.mrr);
  });
});
