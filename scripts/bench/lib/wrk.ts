/**
 * wrk on keep-alive connections, driven by a generated Lua script: fixed
 * headers, one POST body or a rotation of bodies, and a `done` hook that
 * prints the summary as JSON (requests, errors by kind, latency percentiles),
 * so nothing depends on wrk's human-readable output.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { newDir, runFull } from "./runtime.ts";

export interface WrkTarget {
  /** Full URL, such as `https://127.0.0.1:1234/mcp`. */
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  /** POST bodies: one is sent every time; several are sent in rotation. */
  bodies?: string[];
}

export interface WrkResult {
  connections: number;
  threads: number;
  durationS: number;
  requests: number;
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
  /** Every failure wrk counts: socket errors, timeouts and non-2xx/3xx answers. */
  failures: number;
  /** wrk's own text output (with `--latency`). */
  text: string;
}

/** Lua long-bracket string that cannot be closed by the text inside. */
function luaString(text: string): string {
  let level = 1;
  while (text.includes(`]${"=".repeat(level)}]`)) level++;
  const eq = "=".repeat(level);
  return `[${eq}[${text}]${eq}]`;
}

let scriptDir: string | undefined;

function script(target: WrkTarget): string {
  scriptDir ??= newDir("wrk");
  const lines = [`wrk.method = "${target.method}"`];
  for (const [name, value] of Object.entries(target.headers)) lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`);
  const bodies = target.bodies ?? [];
  if (bodies.length === 1) lines.push(`wrk.body = ${luaString(bodies[0]!)}`);
  if (bodies.length > 1) {
    // A request() function makes wrk build each request in Lua: used only when bodies rotate.
    lines.push(`local bodies = {${bodies.map(luaString).join(",\n")}}`);
    lines.push(
      "local counter = 0",
      "function setup(thread) thread:set('offset', math.random(#bodies)) end",
      "function init(args) counter = tonumber(wrk.thread:get('offset')) or 0 end",
      "function request()",
      "  counter = counter % #bodies + 1",
      `  return wrk.format(nil, nil, nil, bodies[counter])`,
      "end",
    );
  }
  lines.push(
    "function done(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format("WRK_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n",',
    "    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))",
    "end",
  );
  const path = join(scriptDir, `s${Math.random().toString(36).slice(2, 10)}.lua`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** wrk threads for `connections`: one per core at most (threads beyond the cores only add contention here). */
export function threadsFor(connections: number): number {
  return Math.max(1, Math.min(connections, availableParallelism()));
}

export async function wrk(target: WrkTarget, connections: number, durationS: number): Promise<WrkResult> {
  const threads = threadsFor(connections);
  const argv = ["wrk", `-t${threads}`, `-c${connections}`, `-d${durationS}s`, "--timeout", "5s", "--latency", "-s", script(target), target.url];
  const { stdout: text, stderr } = await runFull(argv);
  const json = /WRK_JSON (\{.*\})/.exec(text)?.[1];
  if (!json) throw new Error(`wrk printed no summary:\n${text}${stderr}`);
  const r = JSON.parse(json) as { requests: number; duration_us: number; connect: number; read: number; write: number; status: number; timeout: number; p50: number; p99: number };
  const errors = { connect: r.connect, read: r.read, write: r.write, timeout: r.timeout, status: r.status };
  return {
    connections,
    threads,
    durationS,
    requests: r.requests,
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50 / 1000,
    p99: r.p99 / 1000,
    errors,
    failures: errors.connect + errors.read + errors.write + errors.timeout + errors.status,
    text,
  };
}
