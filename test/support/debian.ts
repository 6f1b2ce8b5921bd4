/**
 * The real components the tests run (Pebble, Redis, wrk, Chromium, openssl,
 * systemd-analyze) come from Debian's packages. On a fresh machine the
 * harness installs what is missing, as root, with `apt-get update` then
 * `apt-get install -y`; anywhere else it fails with the command to run.
 * It never skips: a test that needs a component and cannot get it is red.
 *
 * `.ci/run` installs the same packages once, up front, so that apt stays
 * out of the timed tests; this is what makes `npm install && npm test` on a
 * bare clone work too.
 */
import { spawn, which } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** A command the tests run, and the Debian package that ships it. */
export type Needed = readonly [command: string, debianPackage: string];

const installing = new Map<string, Promise<void>>();

/**
 * Makes sure every command is available, installing the missing packages.
 * Memoised per package set and process: concurrent callers share one apt run,
 * and a failed run may be retried later (apt's lock may have been busy).
 *
 * @param purpose what needs them, for the error message ("Pebble tests").
 * @throws Error naming the packages and the command to run, when one is
 *   missing and this is not a root shell on Debian, or apt failed.
 */
export function ensureCommands(needed: readonly Needed[], purpose: string): Promise<void> {
  const packages = [...new Set(needed.filter(([command]) => !findCommand(command)).map(([, pkg]) => pkg))].sort();
  if (packages.length === 0) return Promise.resolve();
  const key = packages.join(" ");
  let pending = installing.get(key);
  if (!pending) {
    pending = install(packages, needed, purpose).catch((error: unknown) => {
      installing.delete(key);
      throw error;
    });
    installing.set(key, pending);
  }
  return pending;
}

/**
 * Resolves a command on PATH, falling back to /usr/bin and /usr/sbin (PATH
 * may be trimmed in CI shells; redis-server and friends live in sbin on some
 * systems).
 */
export function findCommand(name: string): string | undefined {
  const found = which(name);
  if (found) return found;
  for (const dir of ["/usr/bin", "/usr/sbin"]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

async function install(packages: string[], needed: readonly Needed[], purpose: string): Promise<void> {
  const command = `apt-get update && apt-get install -y ${packages.join(" ")}`;
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !findCommand("apt-get")) {
    throw new Error(`${purpose} need the Debian package(s) ${packages.join(", ")}; install them as root: ${command}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // Another process (a parallel CI job) may hold dpkg's lock: wait for it rather than fail.
  const lockWait = ["-o", "DPkg::Lock::Timeout=300"];
  for (const argv of [
    ["apt-get", ...lockWait, "update", "-qq"],
    ["apt-get", ...lockWait, "install", "-y", "-qq", ...packages],
  ]) {
    const proc = spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (exitCode !== 0) throw new Error(`${purpose}: \`${argv.join(" ")}\` failed (exit ${exitCode}):\n${(stdout + stderr).slice(-4000)}`);
  }
  for (const [name] of needed) {
    if (!findCommand(name)) throw new Error(`${purpose}: \`${command}\` succeeded but ${name} is still not on PATH`);
  }
}
