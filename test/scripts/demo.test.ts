import { beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensurePebbleInstalled } from "../support/pebble.ts";

// `npm run demo` end to end: the compiled binary, a real Pebble, the demo's
// own HTTPS and MCP checks, and nothing left running or on disk afterwards.

const root = join(import.meta.dir, "../..");
const binary = join(root, "mcp-server");

beforeAll(async () => {
  await ensurePebbleInstalled();
  // Always rebuild: a stale ./mcp-server would test old code. It takes about 2 s.
  const build = Bun.spawn(["npm", "run", "build"], { cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
  if (exitCode !== 0) throw new Error(`npm run build failed:\n${stdout}\n${stderr}`);
  expect(existsSync(binary)).toBe(true);
}, 120_000);

interface Demo {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves once the output contains `text`; rejects (with the output) if the demo exits first or after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** The `DEMO_TEST_RUN=<id>` entry every process started by this run inherits. */
  marker: string;
}

/**
 * Runs `bun scripts/demo.ts` with a unique variable in its environment: the
 * demo passes its environment on to mcp-server, Pebble and challtestsrv, so
 * that variable tells this run's processes from anyone else's on the machine.
 */
function runDemo(args: string[]): Demo {
  const marker = `DEMO_TEST_RUN=${crypto.randomUUID()}`;
  const [key, value] = marker.split("=") as [string, string];
  const proc = Bun.spawn([process.execPath, join(root, "scripts/demo.ts"), ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1", [key]: value },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const listeners = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      for (const listener of listeners) listener();
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return {
    proc,
    marker,
    output: () => text,
    waitFor: (wanted, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!text.includes(wanted)) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(wanted)} within ${timeoutMs} ms; output:\n${text}`)), timeoutMs);
        listeners.add(check);
        check();
        void proc.exited.then(() =>
          setTimeout(() => {
            if (!text.includes(wanted)) reject(new Error(`demo exited (${proc.exitCode}) before printing ${JSON.stringify(wanted)}; output:\n${text}`));
          }, 100),
        );
      }),
  };
}

/** Live pebble / mcp-server processes (`pgrep -f`) whose environment carries `marker`, as "pid command line". */
function processesOf(marker: string): string[] {
  const pids = Bun.spawnSync(["pgrep", "-f", "pebble|mcp-server"]).stdout.toString().split("\n").filter(Boolean);
  return pids.flatMap((pid) => {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(marker)) return [];
      return [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").trim()}`];
    } catch {
      return []; // exited meanwhile
    }
  });
}

/** The demo's temporary directory, from the root path it prints. */
function demoDir(output: string): string {
  const match = /\s(\S+\/pebble-root\.pem)\b/.exec(output);
  if (!match) throw new Error(`no pebble-root.pem path in:\n${output}`);
  return dirname(match[1]!);
}

test(
  "--check --no-build: gets a certificate from Pebble, verifies it over HTTPS, prints the next steps, and leaves nothing behind",
  async () => {
    const demo = runDemo(["--check", "--no-build"]);
    const exitCode = await demo.proc.exited;
    const output = demo.output();
    if (exitCode !== 0) throw new Error(`demo exited ${exitCode}:\n${output}`);

    expect(output).toContain('msg="serving https"');
    const port = /https:\/\/docs\.example\.test:(\d+)\/healthz/.exec(output)?.[1];
    expect(port).toBeDefined();
    expect(output).toContain(`GET https://docs.example.test:${port}/healthz → 200 ok`);
    expect(output).toMatch(/MCP search "connect ChatGPT" → \d+ results?, first: "[^"]+"/);
    expect(output).toContain(`--resolve docs.example.test:${port}:127.0.0.1 https://docs.example.test:${port}/healthz`);
    expect(output).toContain("-H 'Accept: application/json, text/event-stream'");
    expect(output).toContain("npx @modelcontextprotocol/inspector");
    expect(output).toContain("/etc/hosts");

    expect(processesOf(demo.marker)).toEqual([]);
    expect(existsSync(demoDir(output))).toBe(false);
  },
  30_000,
);

test(
  "runs until SIGINT, then stops the server and Pebble and exits 0",
  async () => {
    const demo = runDemo(["--no-build"]);
    try {
      await demo.waitFor("Press Ctrl-C");
      // The marker really finds this run's processes (so the check after SIGINT means something).
      const running = processesOf(demo.marker).join("\n");
      expect(running).toContain("/mcp-server");
      expect(running).toMatch(/\bpebble -config /);
      expect(running).toContain("pebble-challtestsrv");

      // Only the demo gets the signal (a terminal's Ctrl-C would reach the whole group): it must stop the rest itself.
      demo.proc.kill("SIGINT");
      expect(await demo.proc.exited).toBe(0);
      const output = demo.output();
      expect(output).toContain("msg=stopping signal=SIGTERM");
      expect(processesOf(demo.marker)).toEqual([]);
      expect(existsSync(demoDir(output))).toBe(false);
    } finally {
      demo.proc.kill("SIGKILL");
    }
  },
  30_000,
);
