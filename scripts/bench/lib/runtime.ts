/**
 * What every benchmark item shares: paths, the temporary directory, compiled
 * programs, child processes (all killed on exit), free ports and RSS.
 */
import type { Subprocess } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { corpusPath } from "../../../test/support/corpora.ts";

export const ROOT = join(import.meta.dir, "../../..");
export const BENCH_DIR = join(ROOT, "scripts/bench");
/** The Hono documentation corpus in the repository (origin and licence: test/fixtures/corpora/README.md). */
export const HONO_JSON = corpusPath("hono");
export const DOMAIN = "docs.example.test";

// Everything is on this machine: a proxy from the environment must not see it.
for (const key of ["NO_PROXY", "no_proxy"]) {
  process.env[key] = [process.env[key], "127.0.0.1", "localhost", "::1", DOMAIN].filter(Boolean).join(",");
}

let workDir: string | undefined;

/** The run's temporary directory (compiled programs, certificates, logs); removed on exit. */
export function tempDir(): string {
  workDir ??= mkdtempSync(join(tmpdir(), "mcp-bench-"));
  return workDir;
}

/** A fresh subdirectory of the run's temporary directory. */
export function newDir(prefix: string): string {
  const dir = mkdtempSync(join(tempDir(), `${prefix}-`));
  mkdirSync(dir, { recursive: true });
  return dir;
}

const children = new Set<Subprocess>();
let keepTemp = false;

/** Keep the temporary directory (`--keep`), for looking at logs after a run. */
export function keepTempDir(): void {
  keepTemp = true;
}

process.once("exit", () => {
  // "exit" handlers must be synchronous.
  for (const child of children) child.kill("SIGKILL");
  if (workDir && !keepTemp) rmSync(workDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}: stopping\n`);
    process.exit(130);
  });
}

/** Prefix making the kernel kill a long-lived child if the benchmark dies without cleaning up. */
function deathSignalPrefix(): string[] {
  const setpriv = Bun.which("setpriv") ?? (existsSync("/usr/bin/setpriv") ? "/usr/bin/setpriv" : undefined);
  return setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : [];
}

export interface Child {
  proc: Subprocess;
  /** File holding the child's stdout and stderr. */
  logPath: string;
  log(): string;
  /** SIGKILL and wait (the benchmark never measures shutdown). */
  kill(): Promise<void>;
  /** A signal, such as SIGHUP. */
  signal(name: NodeJS.Signals): void;
}

/**
 * Starts a program with `env` added to a clean environment (no MCP_* or
 * BENCH_* from the caller), its output going to a log file.
 *
 * `guard` wraps it in `setpriv --pdeathsig` (for long-lived servers); cold
 * starts are spawned bare so that the exec of setpriv is not measured.
 */
export function spawnChild(argv: string[], env: Record<string, string>, options: { guard?: boolean; name?: string } = {}): Child {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("MCP_") && !key.startsWith("BENCH_")) base[key] = value;
  }
  const logPath = join(tempDir(), `${options.name ?? "child"}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`);
  const file = Bun.file(logPath);
  const proc = Bun.spawn([...(options.guard ? deathSignalPrefix() : []), ...argv], {
    env: { ...base, ...env },
    cwd: tempDir(),
    stdin: "ignore",
    stdout: file,
    stderr: file,
  });
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return {
    proc,
    logPath,
    log: () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : ""),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
    signal(name) {
      proc.kill(name);
    },
  };
}

/** Resident set size of a process, in MiB (from /proc). */
export function rssMiB(pid: number): number {
  return statusMiB(pid, "VmRSS");
}

/**
 * The private part of a process's RSS (`RssAnon`: heap, JIT code, SQLite),
 * in MiB. RSS also counts the pages of the executable it has touched
 * (`RssFile`): clean, shared with every process of the same binary, and
 * given back by the kernel under pressure, so a larger binary shows a
 * larger RSS that costs the machine little.
 */
export function privateMiB(pid: number): number {
  return statusMiB(pid, "RssAnon");
}

/** One kB field of `/proc/<pid>/status`, in MiB; NaN when it is missing. */
function statusMiB(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** `count` distinct loopback ports that were free a moment ago (all held open together). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = servers.map((server) => server.port);
  for (const server of servers) server.stop(true);
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a command to completion; throws with its output when it fails. */
export async function run(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<string> {
  return (await runFull(argv, options)).stdout;
}

/** Runs a command to completion; both outputs. Throws with them when it fails. */
export async function runFull(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<{ stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`\`${argv.join(" ")}\` failed (exit ${code}):\n${stdout}${stderr}`);
  return { stdout, stderr };
}

/** Progress on stderr, so stdout keeps only the table. */
export function say(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

/** Installs a Debian package's binary when it is missing and we are root. */
export async function ensureBinary(binary: string, debianPackage = binary): Promise<void> {
  if (Bun.which(binary)) return;
  if (process.getuid?.() !== 0) throw new Error(`${binary} is missing: apt-get install -y ${debianPackage}`);
  say(`installing ${debianPackage} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"], { env });
  await run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends", debianPackage], { env });
}
