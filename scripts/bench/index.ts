/**
 * `npm run bench`: the product against baselines measured side by side in
 * the same invocation. Every figure is a ratio of medians over repeated runs;
 * no absolute time is a target. See scripts/bench/README.md.
 *
 *   npm run bench                          # everything (under 10 minutes)
 *   npm run bench -- --quick               # fewer repetitions, shorter load runs
 *   npm run bench -- --only search,memory  # some items (names or numbers)
 *   npm run bench -- --json out.json       # results file (default scripts/bench/results/latest.json)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { coldHttp, coldTls } from "./items/cold-start.ts";
import { issuance } from "./items/issuance.ts";
import { throughput } from "./items/throughput.ts";
import { search } from "./items/search.ts";
import { memory } from "./items/memory.ts";
import { hotSwap } from "./items/hot-swap.ts";
import { fairness } from "./items/fairness.ts";
import { scale } from "./items/scale.ts";
import { productBinary } from "./lib/compile.ts";
import { setExtraProductEnv, stopPebbles } from "./lib/fixtures.ts";
import type { Item, ItemResult, Options } from "./lib/item.ts";
import { formatMarkdown, formatTable, naRow, type Row } from "./lib/report.ts";
import { BENCH_DIR, ROOT, keepTempDir, run, say } from "./lib/runtime.ts";

const ITEMS: Item[] = [coldTls, coldHttp, issuance, throughput, search, memory, hotSwap, fairness, scale];

const USAGE = `npm run bench [-- options]        (or: bun scripts/bench/index.ts [options])

Measures mcp-server against small baseline programs compiled the same way,
side by side, and prints one table of ratios with their targets.

Items: ${ITEMS.map((item) => `${item.number}=${item.name}`).join(", ")}

Options:
  --quick           fewer repetitions and shorter load runs (for development)
  --only LIST       only these items, by name or number (comma-separated, repeatable)
  --json PATH       where to write the results (default scripts/bench/results/latest.json)
  --markdown        also print the table as Markdown
  --binary PATH     measure this product binary instead of compiling src/main.ts
  --env KEY=VALUE   add a setting to every start of the product (repeatable), to try one
  --keep            keep the temporary directory (logs, certificates, programs)
  --help, -h        this help
`;

interface Cli extends Options {
  only: Item[];
  env: Record<string, string>;
  json: string;
  markdown: boolean;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = { quick: false, only: [], env: {}, json: join(BENCH_DIR, "results/latest.json"), markdown: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) usageError(`${flag} needs a value`);
    return v!;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (arg === "--quick") cli.quick = true;
    else if (arg === "--markdown") cli.markdown = true;
    else if (arg === "--keep") keepTempDir();
    else if (arg === "--env") {
      const v = value(i++, arg);
      const eq = v.indexOf("=");
      if (eq < 1) usageError("--env needs KEY=VALUE");
      cli.env[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (arg === "--only" || arg === "--json" || arg === "--binary") {
      const v = value(i++, arg);
      if (arg === "--json") cli.json = resolve(v);
      else if (arg === "--binary") cli.binary = resolve(v);
      else {
        for (const name of v.split(",").map((s) => s.trim()).filter(Boolean)) {
          const item = ITEMS.find((it) => it.name === name || String(it.number) === name);
          if (!item) usageError(`unknown item ${name}`);
          if (!cli.only.includes(item!)) cli.only.push(item!);
        }
      }
    } else usageError(`unknown option ${arg}`);
  }
  return cli;
}

function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function gitState(): Promise<{ commit?: string; dirty?: boolean }> {
  try {
    const commit = (await run(["git", "rev-parse", "HEAD"])).trim();
    const dirty = (await run(["git", "status", "--porcelain"])).trim() !== "";
    return { commit, dirty };
  } catch {
    return {};
  }
}

async function toolVersion(argv: string[]): Promise<string | undefined> {
  try {
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return (out + err).split("\n")[0]?.trim();
  } catch {
    return undefined;
  }
}

const cli = parseArgs(process.argv.slice(2));
setExtraProductEnv(cli.env);
const selected = cli.only.length ? ITEMS.filter((item) => cli.only.includes(item)) : ITEMS;
const started = Date.now();
const loadBefore = loadavg();
say(`${cli.quick ? "quick" : "full"} run of item(s) ${selected.map((item) => `${item.number} ${item.name}`).join(", ")}`);

const rows: Row[] = [];
const details: Record<string, unknown> = {};
let failed = false;
for (const item of selected) {
  const itemStarted = Date.now();
  say(`— item ${item.number}: ${item.title}`);
  let result: ItemResult;
  try {
    result = await item.run(cli);
  } catch (error) {
    failed = true;
    const message = (error as Error).stack ?? String(error);
    say(`item ${item.number} (${item.name}) failed:\n${message}`);
    result = { rows: [naRow(`${item.name}.error`, `${item.number} ${item.title}`, `failed: ${(error as Error).message.split("\n")[0]}`, { op: "<=", value: 0 }, "no error")], details: { error: message } };
  }
  const seconds = (Date.now() - itemStarted) / 1000;
  say(`item ${item.number} took ${seconds.toFixed(1)} s`);
  rows.push(...result.rows);
  details[item.name] = { ...result.details, seconds };
}
await stopPebbles();

const product = selected.some((item) => item.name !== "search") ? await productBinary(cli.binary).catch(() => undefined) : undefined;
if (product?.warning) rows.push(naRow("product.build", "product binary", product.warning));

const table = formatTable(rows);
process.stdout.write(`\n${table}\n`);
if (cli.markdown) process.stdout.write(`\n${formatMarkdown(rows)}\n`);
const misses = rows.filter((row) => row.pass === false);
const durationS = (Date.now() - started) / 1000;
process.stdout.write(`\n${misses.length ? `${misses.length} target(s) missed` : "all targets met"}; ${durationS.toFixed(0)} s (${cli.quick ? "quick" : "full"} run)\n`);

const results = {
  format: "mcp-server-bench/1",
  startedAt: new Date(started).toISOString(),
  durationS,
  mode: cli.quick ? "quick" : "full",
  items: selected.map((item) => item.name),
  productEnv: Object.keys(cli.env).length ? cli.env : undefined,
  git: await gitState(),
  machine: {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    bun: Bun.version,
    wrk: await toolVersion(["wrk", "--version"]),
  },
  product: product ? { path: product.path === join(ROOT, "mcp-server") ? "./mcp-server" : product.path, source: product.source, sizeMiB: product.sizeMiB, warning: product.warning } : undefined,
  rows: rows.map(({ key, item, measured, baseline, ratio, target, pass, note, data }) => ({ key, item, measured, baseline, ratio, target, pass: pass ?? null, note, data })),
  details,
};
mkdirSync(dirname(cli.json), { recursive: true });
writeFileSync(cli.json, `${JSON.stringify(results, null, 2)}\n`);
say(`results written to ${cli.json}`);
process.exit(failed ? 1 : 0);
