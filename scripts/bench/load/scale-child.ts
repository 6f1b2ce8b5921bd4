/**
 * One measurement of item 9, in a process of its own (so that one engine's
 * memory is not the other's): generate a seeded corpus of BENCH_SECTIONS
 * sections (about 3 KB of Markdown each), index it with BENCH_ENGINE
 * (`ours`: src/search, or `minisearch`), and time the corpus's queries.
 * With BENCH_REFRESH=1 (ours), a second index of the same pages is then
 * built gradually, as a refresh builds it, while a timer keeps searching the
 * first: how late those searches ran, and the extra memory at peak.
 *
 * Prints one JSON line on stdout.
 */
import { readFileSync, writeFileSync } from "node:fs";
import MiniSearch from "minisearch";
import { SearchIndex } from "../../../src/search/index.ts";
import { generateCorpus } from "../lib/generated-corpus.ts";

const engine = process.env.BENCH_ENGINE ?? "ours";
const sections = Number(process.env.BENCH_SECTIONS ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const refresh = process.env.BENCH_REFRESH === "1";

const SECTIONS_PER_PAGE = 10;
/** ~3 KB of Markdown per section (scripts/bench/lib/generated-corpus.ts). */
const PARAGRAPHS = [7, 15] as const;

function status(field: "VmRSS" | "VmHWM"): number {
  const kb = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
  return kb / 1024;
}

/** Starts a new peak: VmHWM from now on (Linux: 5 → clear_refs resets it). */
function resetPeak(): void {
  writeFileSync("/proc/self/clear_refs", "5");
}

/**
 * Resident memory at rest: after a full collection and a pause, in which
 * the allocator's scavenger returns freed pages to the system (right after
 * a build, RSS still holds its garbage, whichever engine made it).
 */
async function settle(): Promise<number> {
  Bun.gc(true);
  await Bun.sleep(2_000);
  Bun.gc(true);
  await Bun.sleep(500);
  return status("VmRSS");
}

const generated = generateCorpus({ pages: sections / SECTIONS_PER_PAGE, sectionsPerPage: SECTIONS_PER_PAGE, paragraphs: PARAGRAPHS, queries: 200 });
const markdownMB = generated.pages.reduce((total, page) => total + page.markdown.length, 0) / 1e6;
const rssBefore = await settle();
resetPeak();

let search: (query: string) => unknown;
let index: SearchIndex | undefined;
const started = performance.now();
if (engine === "ours") {
  index = SearchIndex.build(generated.pages);
  search = (query) => index!.search(query, { limit: 10 });
} else {
  const mini = new MiniSearch<{ id: string; title: string; text: string }>({ fields: ["title", "text"], searchOptions: { boost: { title: 2 } } });
  mini.addAll(generated.pages.map((page) => ({ id: page.id, title: page.title, text: page.markdown })));
  search = (query) => mini.search(query);
}
const buildMs = performance.now() - started;
const peakBuild = status("VmHWM");
const rssAfter = await settle();

for (const query of generated.queries) search(query);
const latencies: number[] = [];
for (let round = 0; round < rounds; round++) {
  for (const query of generated.queries) {
    const at = performance.now();
    search(query);
    latencies.push((performance.now() - at) * 1000);
  }
}
latencies.sort((a, b) => a - b);
const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;

let refreshResult: Record<string, number> | undefined;
if (refresh && index) {
  const steady = await settle();
  resetPeak();
  // Searches every 2 ms on the index in service while the new one is built.
  const lateness: number[] = [];
  let next = 0;
  let expected = performance.now() + 2;
  const timer = setInterval(() => {
    const now = performance.now();
    lateness.push(now - expected);
    index!.search(generated.queries[next++ % generated.queries.length]!, { limit: 10 });
    expected = performance.now() + 2;
  }, 2);
  const refreshStarted = performance.now();
  const fresh = await SearchIndex.buildGradually(generated.pages);
  const refreshMs = performance.now() - refreshStarted;
  clearInterval(timer);
  const peak = status("VmHWM");
  index.close();
  fresh.close();
  lateness.sort((a, b) => a - b);
  refreshResult = {
    refreshMs,
    searchesDuring: lateness.length,
    lateP99Ms: lateness[Math.floor(lateness.length * 0.99)] ?? Number.NaN,
    lateMaxMs: lateness.at(-1) ?? Number.NaN,
    extraPeakMB: peak - steady,
  };
}

console.log(
  JSON.stringify({
    engine,
    sections,
    markdownMB,
    buildMs,
    rssBeforeMB: rssBefore,
    rssAfterMB: rssAfter,
    indexMB: rssAfter - rssBefore,
    peakBuildMB: peakBuild,
    p50us: quantile(0.5),
    p99us: quantile(0.99),
    searches: latencies.length,
    refresh: refreshResult,
  }),
);
process.exit(0);
