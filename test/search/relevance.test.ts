/**
 * Relevance on real documentation: developer questions against the Hono docs,
 * scored as top-3 rate and MRR@10, and compared with MiniSearch. Failures here
 * call for better ranking, not for different questions.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { SearchIndex } from "../../src/search/index.ts";
import { loadCorpus } from "../support/corpora.ts";
import {
  correctingRanker,
  evaluate,
  formatMisses,
  formatSummary,
  HONO_CASES,
  MKDOCS_CASES,
  miniSearchRanker,
  misspelled,
  searchIndexRanker,
  type RelevanceCase,
} from "../support/relevance.ts";
import type { Page } from "../../src/docs/page.ts";
import { LlmsSource } from "../../src/docs/sources/llms-source.ts";
import { SitemapSource } from "../../src/docs/sources/sitemap-source.ts";
import { serveSite } from "../support/static-site.ts";
import { tempDir } from "../support/server.ts";

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

/**
 * The same measure for every source kind, each read from real files served
 * locally (see test/support/static-site.ts), and for misspelled questions
 * (one typo each, see `misspell`): typo correction must keep the top-3 rate
 * at 90% of the well-spelled one, and leave no question without results.
 */
describe("relevance per source, spelled and misspelled, against MiniSearch", async () => {
  const hono = serveSite("hono-vitepress", "https://hono.dev");
  const mkdocs = serveSite("mkdocs", "https://www.mkdocs.org");
  const cache = tempDir("mcp-relevance-");
  afterAll(() => {
    hono.stop();
    mkdocs.stop();
    cache.remove();
  });
  const sources: [string, () => Promise<Page[]>, readonly RelevanceCase[]][] = [
    ["Hugo JSON (Hono)", () => loadCorpus("hono"), HONO_CASES],
    ["sitemap.xml of the VitePress build (Hono)", async () => (await new SitemapSource(`${hono.origin}/sitemap.xml`, cache.path).load())!.pages, HONO_CASES],
    ["llms-full.txt (Hono)", async () => (await new LlmsSource(`${hono.origin}/llms-full.txt`, cache.path).load())!.pages, HONO_CASES],
    ["llms.txt and its Markdown pages (Hono)", async () => (await new LlmsSource(`${hono.origin}/llms.txt`, cache.path).load())!.pages, HONO_CASES],
    ["sitemap.xml of the MkDocs docs", async () => (await new SitemapSource(`${mkdocs.origin}/sitemap.xml`, cache.path).load())!.pages, MKDOCS_CASES],
  ];
  for (const [name, load, cases] of sources) {
    test(name, async () => {
      const pages = await load();
      const index = SearchIndex.build(pages);
      try {
        const ids = new Set(pages.map((page) => page.id));
        for (const c of cases) expect(c.expected.some((id) => ids.has(id))).toBe(true);
        const ours = evaluate(cases, searchIndexRanker(index));
        const baseline = evaluate(cases, miniSearchRanker(pages));
        const typos = misspelled(cases);
        const oursTypos = evaluate(typos, correctingRanker(index));
        const baselineTypos = evaluate(typos, miniSearchRanker(pages));
        const fmt = (e: { mrr: number; top3: number }) => `MRR ${e.mrr.toFixed(3)}, top-3 ${(e.top3 * 100).toFixed(1)}%`;
        console.log(`${name}: ${pages.length} pages, ${cases.length} questions; spelled: ours ${fmt(ours)}, MiniSearch ${fmt(baseline)}; misspelled: ours ${fmt(oursTypos)}, MiniSearch ${fmt(baselineTypos)}`);
        expect(ours.mrr).toBeGreaterThanOrEqual(baseline.mrr);
        expect(ours.top3).toBeGreaterThanOrEqual(0.9);
        expect(oursTypos.top3).toBeGreaterThanOrEqual(0.9 * ours.top3);
        expect(oursTypos.mrr).toBeGreaterThanOrEqual(baselineTypos.mrr);
        for (const c of typos) expect({ question: c.question, found: correctingRanker(index)(c.question).length > 0 }).toEqual({ question: c.question, found: true });
      } finally {
        index.close();
      }
    });
  }

  test("the misspelled questions really are misspelled, one word each", () => {
    const typos = misspelled(HONO_CASES);
    const changed = typos.filter((c, i) => c.question !== HONO_CASES[i]!.question);
    expect(changed.length).toBeGreaterThanOrEqual(HONO_CASES.length * 0.9);
    for (const [i, c] of typos.entries()) {
      const before = HONO_CASES[i]!.question.split(" ");
      expect(c.question.split(" ").filter((word, j) => word !== before[j]).length).toBeLessThanOrEqual(1);
    }
  });
});
