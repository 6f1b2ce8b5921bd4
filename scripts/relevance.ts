/**
 * Prints how our search ranks the Hono corpus questions compared with
 * MiniSearch: MRR@10, top-3 rate, and every question either one misses.
 *
 *   bun scripts/relevance.ts
 */
import { SearchIndex } from "../src/search/index.ts";
import { loadCorpus } from "../test/support/corpora.ts";
import {
  evaluate,
  formatMisses,
  formatSummary,
  HONO_CASES,
  miniSearchRanker,
  searchIndexRanker,
} from "../test/support/relevance.ts";

const pages = await loadCorpus("hono");
const index = SearchIndex.build(pages);
const ours = evaluate(HONO_CASES, searchIndexRanker(index));
const baseline = evaluate(HONO_CASES, miniSearchRanker(pages));
console.log(`${HONO_CASES.length} questions, ${pages.length} pages, ${index.sectionCount} sections\n`);
index.close();

console.log(formatSummary(ours, baseline));
console.log(`\nMissed the top 3 by either ranker (rank in the top 10, - for none):\n`);
console.log(formatMisses(ours, baseline));
