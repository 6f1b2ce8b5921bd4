/**
 * A real Redis for tests: Debian's `redis-server`, bound to 127.0.0.1 on a
 * free port, without persistence (`--save "" --appendonly no`), in a
 * temporary directory of its own.
 *
 * - `startRedis()` installs the package when `redis-server` is missing and we
 *   are root (`apt-get update`, then `apt-get install -y redis-server`), and
 *   resolves once the server answers PING.
 * - `pause()` SIGSTOPs it: connections are still accepted by the kernel but
 *   never answered, i.e. a hung Redis. `resume()` SIGCONTs it.
 * - `restart()` stops it and starts it again on the same port; data is lost
 *   unless `{ keepData: true }` (a SAVE to the temp dir before stopping, loaded
 *   again at start). `kill()` SIGKILLs it (a crash) until `restart()`.
 * - The child dies with `stop()`, on process exit, and (via
 *   `setpriv --pdeathsig KILL`) even when the test runner is SIGKILLed.
 */
import { spawn, type Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { installExitHook, liveChildren, liveDirs } from "./cleanup.ts";
import { ensureCommands, findCommand } from "./debian.ts";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StartRedisOptions {
  /** `--requirepass`: the URL then carries it (`redis://:<password>@127.0.0.1:<port>`). */
  password?: string;
  /** How long to wait for PING after each (re)start, in ms (default 10 000). */
  startTimeoutMs?: number;
}

export interface TestRedis {
  /** `redis://[:password@]127.0.0.1:<port>`. Stable across `restart()`. */
  readonly url: string;
  readonly port: number;
  /** Process id of the current redis-server. */
  pid(): number;
  /** Everything redis-server printed so far (all incarnations). */
  logs(): string;
  /** Sends one command over a fresh raw connection and resolves its RESP2 reply text (for checks that bypass the code under test). */
  command(...args: string[]): Promise<string>;
  /** SIGSTOP: a hung Redis. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** SIGKILL: a crashed Redis, until `restart()`. */
  kill(): void;
  /** Stops (if running) and starts again on the same port; resolves once it answers PING. */
  restart(options?: { keepData?: boolean }): Promise<void>;
  /** Stops the server and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Makes sure `redis-server` is on PATH, installing Debian's package when missing (see test/support/debian.ts). */
export function ensureRedisInstalled(): Promise<void> {
  return ensureCommands([["redis-server", "redis-server"]], "Redis tests");
}

/** A port that was free on 127.0.0.1 a moment ago (racy: `startRedis` retries when it is taken). */
async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("unexpected server address"));
        else resolve(address.port);
      });
    });
  });
}

/** Encodes a command in RESP. */
function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`;
}

/**
 * One command over a new TCP connection (AUTH first when a password is set);
 * resolves the raw reply text once a complete-looking reply arrived. For
 * harness checks only: simple replies, not a RESP parser.
 */
function rawCommand(port: number, password: string | undefined, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let data = "";
    const expected = password === undefined ? 1 : 2;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on port ${port}: no reply to ${args[0]} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk) => {
      data += chunk.toString("utf8");
      if (completeReplies(data) >= expected) {
        clearTimeout(timer);
        socket.end();
        const replies = splitReplies(data);
        resolve(replies[expected - 1] ?? data);
      }
    });
    socket.write((password === undefined ? "" : resp(["AUTH", password])) + resp(args));
  });
}

/** Counts complete top-level replies in `text` (enough RESP2 for status, error, integer, bulk and flat arrays). */
function completeReplies(text: string): number {
  return splitReplies(text).length;
}

function splitReplies(text: string): string[] {
  const replies: string[] = [];
  let position = 0;
  const readLine = (): string | undefined => {
    const end = text.indexOf("\r\n", position);
    if (end === -1) return undefined;
    const line = text.slice(position, end);
    position = end + 2;
    return line;
  };
  const readOne = (): boolean => {
    const line = readLine();
    if (line === undefined) return false;
    const type = line[0];
    if (type === "+" || type === "-" || type === ":") return true;
    if (type === "$") {
      const length = Number(line.slice(1));
      if (length < 0) return true;
      if (Buffer.byteLength(text.slice(position)) < length + 2) return false;
      // Bulk strings here are ASCII (keys, tokens, base64), so characters are bytes.
      position += length + 2;
      return true;
    }
    if (type === "*") {
      const count = Number(line.slice(1));
      for (let i = 0; i < count; i++) if (!readOne()) return false;
      return true;
    }
    return false;
  };
  for (;;) {
    const start = position;
    if (!readOne()) break;
    replies.push(text.slice(start, position));
  }
  return replies;
}

/** SIGCONT + SIGTERM, then SIGKILL after `graceMs`. Resolves on exit. */
async function terminate(proc: Subprocess, graceMs = 2_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGCONT"); // a SIGSTOPped process would sit on SIGTERM forever
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class PortInUseError extends Error {}

/** Starts a private redis-server (see the file comment). */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  await ensureRedisInstalled();
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), "redis-"));
  liveDirs.add(dir);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(options, dir, await freePort());
      } catch (error) {
        if (attempt >= 3 || !(error instanceof PortInUseError)) throw error;
      }
    }
  } catch (error) {
    liveDirs.delete(dir);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(options: StartRedisOptions, dir: string, port: number): Promise<TestRedis> {
  const { password } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const chunks: string[] = [];
  const logs = (): string => chunks.join("");
  let proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let stopped = false;

  const startProcess = async (): Promise<void> => {
    const setpriv = findCommand("setpriv");
    const argv = [
      ...(setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : []),
      findCommand("redis-server") ?? "redis-server",
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
      ...["--dir", dir, "--dbfilename", "dump.rdb", "--loglevel", "notice"],
      ...(password === undefined ? [] : ["--requirepass", password]),
    ];
    const child = spawn(argv, { cwd: dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    proc = child;
    liveChildren.add(child);
    void child.exited.then(() => liveChildren.delete(child));
    const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
    };
    void pump(child.stdout);
    void pump(child.stderr);

    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await sleep(50);
        const text = logs();
        const message = `redis-server exited (${child.exitCode ?? child.signalCode}) during start-up:\n${text}`;
        throw /Address already in use/i.test(text) ? new PortInUseError(message) : new Error(message);
      }
      const reply = await rawCommand(port, password, ["PING"], 500).catch(() => "");
      if (reply.startsWith("+PONG")) return;
      if (Date.now() > deadline) {
        await terminate(child);
        throw new Error(`redis-server on port ${port} did not answer PING within ${startTimeoutMs} ms:\n${logs()}`);
      }
      await sleep(25);
    }
  };

  const requireRunning = (): Subprocess => {
    if (stopped || !proc) throw new Error("redis harness already stopped");
    return proc;
  };

  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (proc) await terminate(proc);
    liveDirs.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  };

  await startProcess();
  const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;

  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    pid: () => requireRunning().pid,
    logs,
    command: (...args) => rawCommand(port, password, args),
    pause: () => {
      requireRunning().kill("SIGSTOP");
    },
    resume: () => {
      requireRunning().kill("SIGCONT");
    },
    kill: () => {
      requireRunning().kill("SIGKILL");
    },
    restart: async ({ keepData = false } = {}) => {
      const old = requireRunning();
      const running = old.exitCode === null && old.signalCode === null;
      if (keepData && running) {
        old.kill("SIGCONT");
        const reply = await rawCommand(port, password, ["SAVE"], 5_000);
        if (!reply.startsWith("+OK")) throw new Error(`redis SAVE failed: ${reply}`);
      }
      await terminate(old);
      if (!keepData) rmSync(join(dir, "dump.rdb"), { force: true });
      chunks.push("--- redis harness: restarting ---\n");
      try {
        await startProcess();
      } catch (error) {
        await stopAll();
        throw error;
      }
    },
    stop: stopAll,
    [Symbol.asyncDispose]: stopAll,
  };
}
