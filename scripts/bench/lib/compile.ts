/**
 * Compiles the product and the baselines with the product's own `bun build`
 * flags (read from package.json's `build` script, so they cannot drift) into
 * the run's temporary directory.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../../package.json" with { type: "json" };
import { BENCH_DIR, ROOT, newDir, run, say } from "./runtime.ts";

/** The flags of `npm run build`, without the entry point and `--outfile`. */
export function productBuildFlags(): string[] {
  const script = (pkg.scripts as Record<string, string>).build;
  if (!script) throw new Error("package.json has no build script");
  const words = script.split(/\s+/);
  const flags: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--outfile") {
      i++;
      continue;
    }
    if (word.startsWith("--")) flags.push(word);
  }
  return flags;
}

export type Program = "sdk-per-request" | "sdk-v2-modern" | "bare-tls" | "acme-order";

export interface Compiled {
  path: string;
  /** How it was obtained, for the results file. */
  source: string;
  /** Size in MiB. */
  sizeMiB: number;
  buildMs: number;
}

const compiled = new Map<string, Promise<Compiled>>();
let outDir: string | undefined;

async function compile(entry: string, name: string): Promise<Compiled> {
  outDir ??= newDir("bin");
  const outfile = join(outDir, name);
  const started = performance.now();
  await run([process.execPath, "build", entry, ...productBuildFlags(), "--outfile", outfile], { cwd: ROOT });
  const buildMs = performance.now() - started;
  return { path: outfile, source: `bun build ${entry.replace(`${ROOT}/`, "")} ${productBuildFlags().join(" ")}`, sizeMiB: statSync(outfile).size / 2 ** 20, buildMs };
}

/** A baseline program of `scripts/bench/baselines/`, compiled once per run. */
export function program(name: Program): Promise<Compiled> {
  const entry = join(BENCH_DIR, "baselines", `${name}.ts`);
  if (!compiled.has(name)) {
    say(`compiling ${name}`);
    compiled.set(name, compile(entry, name));
  }
  return compiled.get(name)!;
}

export interface ProductBinary extends Compiled {
  /** Set when the build from src failed and the prebuilt ./mcp-server is used instead. */
  warning?: string;
}

let product: Promise<ProductBinary> | undefined;

/**
 * The product: `--binary PATH` when given; otherwise `src/main.ts` compiled
 * now (so the figures belong to the working tree); if that build fails (a
 * tree in the middle of an edit), the existing `./mcp-server`, with a warning
 * in the table and the results file.
 */
export function productBinary(given?: string): Promise<ProductBinary> {
  product ??= (async () => {
    if (given) {
      return { path: given, source: `--binary ${given}`, sizeMiB: statSync(given).size / 2 ** 20, buildMs: 0 };
    }
    say("compiling the product (src/main.ts, the flags of npm run build)");
    try {
      return await compile(join(ROOT, "src/main.ts"), "mcp-server");
    } catch (error) {
      const fallback = join(ROOT, "mcp-server");
      const reason = (error as Error).message.split("\n").filter(Boolean).slice(-3).join(" | ");
      if (!existsSync(fallback)) throw error;
      const warning = `building src/main.ts failed (${reason.slice(0, 300)}); measured the prebuilt ./mcp-server of ${statSync(fallback).mtime.toISOString()} instead`;
      say(`WARNING: ${warning}`);
      return { path: fallback, source: "./mcp-server (prebuilt)", sizeMiB: statSync(fallback).size / 2 ** 20, buildMs: 0, warning };
    }
  })();
  return product;
}
