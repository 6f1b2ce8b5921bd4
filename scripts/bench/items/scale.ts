/**
 * Item 9: how search grows with the documentation. Generated, seeded sets of
 * 1,000, 10,000 and 100,000 sections (about 3, 30 and 300 MB of Markdown,
 * scripts/bench/lib/generated-corpus.ts) are indexed by our SearchIndex and
 * by MiniSearch, each engine and size in a process of its own
 * (scripts/bench/load/scale-child.ts): build time, resident memory the
 * index adds, peak RSS, and query p50/p99 over the set's 200 queries.
 *
 * Growth from 10k to 100k sections is compared with linear growth (10×).
 * At 100k, a refresh (a second index of the same pages built gradually, as
 * the server builds it) runs while a timer keeps searching the first: how
 * much memory it adds at its peak, against the index's own size, and how
 * late the searches meanwhile ran.
 */
import { join } from "node:path";
import type { Item, Options } from "../lib/item.ts";
import { naRow, ratioRow, type Row } from "../lib/report.ts";
import { BENCH_DIR, say } from "../lib/runtime.ts";
import { num, sample } from "../lib/stats.ts";

interface Measurement {
  engine: string;
  sections: number;
  markdownMB: number;
  buildMs: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  indexMB: number;
  peakBuildMB: number;
  p50us: number;
  p99us: number;
  searches: number;
  refresh?: { refreshMs: number; searchesDuring: number; lateP99Ms: number; lateMaxMs: number; extraPeakMB: number };
}

async function measure(engine: "ours" | "minisearch", sections: number, refresh: boolean): Promise<Measurement> {
  const proc = Bun.spawn([process.execPath, join(BENCH_DIR, "load/scale-child.ts")], {
    env: { ...process.env, BENCH_ENGINE: engine, BENCH_SECTIONS: String(sections), BENCH_REFRESH: refresh ? "1" : "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${engine} at ${sections} sections: exit ${code}: ${stderr.slice(-1500)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Measurement;
}

const one = (value: number, unit: string) => sample([value], unit);
const label = (sections: number) => `${sections / 1000}k`;

export const scale: Item = {
  name: "scale",
  number: 9,
  title: "search at 1k, 10k and 100k sections, vs MiniSearch",
  async run(options: Options) {
    const sizes = options.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
    const largest = sizes.at(-1)!;
    const results = new Map<number, { ours: Measurement; minisearch: Measurement }>();
    for (const sections of sizes) {
      say(`item 9: ${sections.toLocaleString("en")} sections, ours then MiniSearch`);
      const ours = await measure("ours", sections, sections === largest);
      const minisearch = await measure("minisearch", sections, false);
      results.set(sections, { ours, minisearch });
      say(`item 9: ${label(sections)}: build ${num(ours.buildMs)} / ${num(minisearch.buildMs)} ms, index ${num(ours.indexMB)} / ${num(minisearch.indexMB)} MB, p50 ${num(ours.p50us)} / ${num(minisearch.p50us)} µs`);
    }

    const rows: Row[] = [];
    for (const [sections, { ours, minisearch }] of results) {
      const at = `${label(sections)} sections (${num(ours.markdownMB)} MB)`;
      const isLargest = sections === largest && !options.quick;
      rows.push(
        ratioRow(`scale.${label(sections)}.build`, `9 index build, ${at}: SearchIndex vs MiniSearch`, one(ours.buildMs, "ms"), one(minisearch.buildMs, "ms")),
        ratioRow(`scale.${label(sections)}.p50`, `9 query p50, ${at}`, one(ours.p50us, "µs"), one(minisearch.p50us, "µs"), isLargest ? { op: "<=", value: 1.0 } : undefined),
        ratioRow(`scale.${label(sections)}.p99`, `9 query p99, ${at}`, one(ours.p99us, "µs"), one(minisearch.p99us, "µs")),
        ratioRow(`scale.${label(sections)}.rss`, `9 RSS the index adds, ${at}`, one(ours.indexMB, "MB"), one(minisearch.indexMB, "MB"), isLargest ? { op: "<=", value: 0.5 } : undefined, {
          note: `peak RSS while building: ours ${num(ours.peakBuildMB)} MB, MiniSearch ${num(minisearch.peakBuildMB)} MB (the pages themselves, ${num(ours.rssBeforeMB)} MB of RSS, included)`,
        }),
      );
    }

    // Growth from 10k to 100k sections, against linear (10×).
    const from = results.get(10_000);
    const to = results.get(100_000);
    if (from && to) {
      const growth = (key: "buildMs" | "p50us") => to.ours[key] / from.ours[key];
      rows.push(
        ratioRow("scale.growth.build", "9 build time growth 10k → 100k sections, vs linear (10×)", one(growth("buildMs"), "×"), one(10, "×"), { op: "<=", value: 1.0 }),
        ratioRow("scale.growth.p50", "9 query p50 growth 10k → 100k sections, vs linear (10×)", one(growth("p50us"), "×"), one(10, "×"), { op: "<=", value: 1.0 }),
      );
      const refresh = to.ours.refresh!;
      rows.push(
        ratioRow("scale.refresh.memory", "9 refresh of 100k sections: extra peak RSS, vs the index's own", one(refresh.extraPeakMB, "MB"), one(to.ours.indexMB, "MB"), { op: "<=", value: 1.25 }, {
          note: `searches every 2 ms kept running during the ${num(refresh.refreshMs / 1000)} s refresh: ${refresh.searchesDuring} ran, late by ${num(refresh.lateP99Ms)} ms at p99 and ${num(refresh.lateMaxMs)} ms at most`,
        }),
      );
    } else if (!options.quick) {
      rows.push(naRow("scale.growth.build", "9 build time growth 10k → 100k sections", "not measured"));
    }
    return { rows, details: Object.fromEntries([...results].map(([sections, r]) => [label(sections), r])) };
  },
};
