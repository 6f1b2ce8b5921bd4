import { join } from "node:path";
import type { Subprocess } from "bun";

/** src/main.ts's command line, with the crash points of MCP_TEST_FAULTS (see the file). */
const ENTRY = join(import.meta.dir, "server-entry.ts");

/** The server as a real process, with its log lines collected as they come. */
export interface ServerProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  lines: string[];
  /** Resolves with the first log line (past or future) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  count(pattern: RegExp): number;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. */
  stop(): Promise<number | null>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function spawnServer(env: Record<string, string>, args: string[] = []): ServerProcess {
  const proc = Bun.spawn([process.execPath, ENTRY, ...args], {
    env: { ...process.env, MCP_LOG_LEVEL: "debug", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        for (const waiter of [...waiters]) {
          if (waiter.pattern.test(line)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);

  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await proc.exited;
    clearTimeout(timer);
    return proc.exitCode;
  };

  return {
    proc,
    lines,
    waitFor(pattern, timeoutMs = 20_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; log:\n${lines.join("\n")}`)), timeoutMs);
        waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void proc.exited.then(() => {
          setTimeout(() => reject(new Error(`server exited (${proc.exitCode}) before logging ${pattern}; log:\n${lines.join("\n")}`)), 100);
        });
      });
    },
    count: (pattern) => lines.filter((line) => pattern.test(line)).length,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** The port a server logged for a given field (`port=12345`), from a log line. */
export function loggedPort(line: string): number {
  const match = /\bport=(\d+)/.exec(line);
  if (!match) throw new Error(`no port in ${line}`);
  return Number(match[1]);
}
