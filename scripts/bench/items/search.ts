/**
 * Item 5: our search (SQLite FTS5, src/search) against MiniSearch (its
 * default BM25, OR combination, title boosted 2×, over title + full
 * Markdown) in-process: index build time and query latency over the same
 * queries on the Hono corpus and on a generated, seeded 10,000-section set,
 * plus relevance (MRR@10) on the Hono questions of test/support/relevance.ts.
 *
 * Builds alternate between the two and each is preceded by a full GC.
 * Latency is timed per query call after one unmeasured round; MiniSearch's
 * `search` returns every match, ranked (its normal API); ours returns the top
 * 10 hits with their snippets (also its normal API).
 */
import MiniSearch from "minisearch";
import type { Page } from "../../../src/docs/page.ts";
import { SearchIndex } from "../../../src/search/index.ts";
import { loadCorpus } from "../../../test/support/corpora.ts";
import { evaluate, HONO_CASES, miniSearchRanker, searchIndexRanker } from "../../../test/support/relevance.ts";
import { generateCorpus } from "../lib/generated-corpus.ts";
import type { Item, Options } from "../lib/item.ts";
import { reps } from "../lib/item.ts";
import { ratioRow, type Row } from "../lib/report.ts";
import { say } from "../lib/runtime.ts";
import { quantile, sample, type Sample } from "../lib/stats.ts";

type Doc = { id: string; title: string; text: string };

function buildMini(pages: readonly Page[]): MiniSearch<Doc> {
  const mini = new MiniSearch<Doc>({ fields: ["title", "text"], searchOptions: { boost: { title: 2 } } });
  mini.addAll(pages.map((p) => ({ id: p.id, title: p.title, text: p.markdown })));
  return mini;
}

function timed(work: () => void): number {
  Bun.gc(true);
  const started = performance.now();
  work();
  return performance.now() - started;
}

/** Per-call latencies (ms) of `search` over `queries`, `rounds` times, after a warm-up round. */
function latencies(queries: readonly string[], rounds: number, search: (q: string) => unknown): number[] {
  for (const q of queries) search(q);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const q of queries) {
      const started = performance.now();
      search(q);
      times.push(performance.now() - started);
    }
  }
  return times;
}

/** p50 and p99 of per-call latencies, as µs samples (the spread is p25–p75 / p90–max of the calls). */
function percentiles(times: number[]): { p50: Sample; p99: Sample } {
  const us = times.map((t) => t * 1000);
  const s = sample(us, "µs");
  return {
    p50: { ...s, median: s.median, min: quantile(us, 0.25), max: quantile(us, 0.75), values: [] },
    p99: { ...s, median: quantile(us, 0.99), min: quantile(us, 0.9), max: s.max, values: [] },
  };
}

async function compare(name: string, label: string, pages: readonly Page[], queries: readonly string[], builds: number, rounds: number) {
  const ours: number[] = [];
  const theirs: number[] = [];
  let sections = 0;
  for (let i = 0; i < builds; i++) {
    const runOurs = () => {
      let index: SearchIndex | undefined;
      ours.push(timed(() => (index = SearchIndex.build(pages))));
      sections = index!.sectionCount;
      index!.close();
    };
    const runTheirs = () => theirs.push(timed(() => buildMini(pages)));
    if (i % 2 === 0) (runOurs(), runTheirs());
    else (runTheirs(), runOurs());
  }
  const index = SearchIndex.build(pages);
  const mini = buildMini(pages);
  const oursTimes = latencies(queries, rounds, (q) => index.search(q, { limit: 10 }));
  const theirTimes = latencies(queries, rounds, (q) => mini.search(q));
  index.close();
  const a = percentiles(oursTimes);
  const b = percentiles(theirTimes);
  const spread = "spread: p25–p75 of all calls for p50, p90–max for p99";
  const rows: Row[] = [
    ratioRow(`search.${name}.build`, `5 index build, ${label}: SearchIndex vs MiniSearch`, sample(ours, "ms"), sample(theirs, "ms"), { op: "<=", value: 1.0 }),
    ratioRow(`search.${name}.p50`, `5 query p50, ${label} (${queries.length} queries × ${rounds})`, a.p50, b.p50, { op: "<=", value: 1.0 }, { note: `${label}: ${spread}` }),
    ratioRow(`search.${name}.p99`, `5 query p99, ${label}`, a.p99, b.p99, undefined),
  ];
  return { rows, details: { pages: pages.length, sections, queries: queries.length, rounds, buildMs: { ours, minisearch: theirs } } };
}

export const search: Item = {
  name: "search",
  number: 5,
  title: "search vs MiniSearch, in-process",
  async run(options: Options) {
    const hono = await loadCorpus("hono");
    const questions = HONO_CASES.map((c) => c.question);
    say(`item 5: Hono (${hono.length} pages)`);
    const honoResult = await compare("hono", "Hono", hono, questions, reps(options, 11, 3), reps(options, 30, 5));

    const generated = generateCorpus();
    say(`item 5: generated set (${generated.pages.length} pages)`);
    const genResult = await compare("generated", "generated 10k sections", generated.pages, generated.queries, reps(options, 5, 1), reps(options, 5, 1));
    if (genResult.details.sections !== 10_000) say(`warning: the generated set has ${genResult.details.sections} sections, not 10,000`);

    const index = SearchIndex.build(hono);
    const ours = evaluate(HONO_CASES, searchIndexRanker(index));
    index.close();
    const theirs = evaluate(HONO_CASES, miniSearchRanker(hono));
    const mrr = ratioRow("search.mrr", `5 relevance MRR@10, Hono (${HONO_CASES.length} questions)`, sample([ours.mrr], ""), sample([theirs.mrr], ""), { op: ">=", value: 1.0 });

    return {
      rows: [...honoResult.rows, ...genResult.rows, mrr],
      details: {
        hono: honoResult.details,
        generated: genResult.details,
        relevance: { ours: { mrr: ours.mrr, top3: ours.top3 }, minisearch: { mrr: theirs.mrr, top3: theirs.top3 } },
      },
    };
  },
};
