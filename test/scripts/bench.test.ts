import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// `npm run bench` smoke test: the in-process item (search vs MiniSearch) in
// quick mode runs through the npm script, prints the table and writes a
// results file that later runs can be compared with. The other items spawn
// servers and load generators; they are run by hand (see scripts/bench/README.md).

const root = join(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "bench-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["npm", "run", "--silent", "bench", "--", ...args], { cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

interface ResultsFile {
  format: string;
  mode: string;
  items: string[];
  durationS: number;
  rows: { key: string; ratio?: number; target?: { op: string; value: number }; pass: boolean | null; data?: { measured: { median: number }; baseline: { median: number } } }[];
}

test("npm run bench -- --quick --only search: prints the table and writes valid JSON", async () => {
  const out = join(dir, "results.json");
  const { code, stdout, stderr } = await bench(["--quick", "--only", "search", "--json", out]);
  expect(code, stderr).toBe(0);
  expect(stdout).toContain("| ratio");
  expect(stdout).toMatch(/relevance MRR@10/);

  const results = JSON.parse(readFileSync(out, "utf8")) as ResultsFile;
  expect(results.format).toBe("mcp-server-bench/1");
  expect(results.mode).toBe("quick");
  expect(results.items).toEqual(["search"]);
  // How long it took is the bench's own output, not a test's verdict: a loaded machine is slower.
  expect(results.durationS).toBeGreaterThan(0);
  const keys = results.rows.map((row) => row.key);
  for (const key of ["search.hono.build", "search.hono.p50", "search.generated.build", "search.generated.p50", "search.mrr"]) expect(keys).toContain(key);
  for (const row of results.rows) {
    expect(Number.isFinite(row.ratio)).toBe(true);
    expect(row.data!.measured.median).toBeGreaterThan(0);
    expect(row.data!.baseline.median).toBeGreaterThan(0);
    if (row.target) expect(typeof row.pass).toBe("boolean");
    else expect(row.pass).toBeNull();
  }
}, 180_000);

test("an unknown item is a usage error (exit 2)", async () => {
  const { code, stderr } = await bench(["--only", "nonsense"]);
  expect(code).toBe(2);
  expect(stderr).toContain("unknown item nonsense");
}, 60_000);
