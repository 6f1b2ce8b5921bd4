import { expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };

const main = join(import.meta.dir, "../../src/main.ts");
const run = (args: string[], env: Record<string, string> = {}) =>
  Bun.spawnSync([process.execPath, main, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });

test("a bad setting prints one line naming it and exits 2, without a stack trace", () => {
  const result = run(["--port", "eighty"]);
  expect(result.exitCode).toBe(2);
  const stderr = result.stderr.toString();
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr).toContain("--port");
  expect(stderr).not.toContain("    at ");
});

test("a documentation source that does not exist is a one-line error, exit 2", () => {
  const result = run([], { MCP_DOCS_SOURCE: "/nonexistent/docs", MCP_PORT: "0", MCP_HOST: "127.0.0.1" });
  expect(result.exitCode).toBe(2);
  expect(result.stderr.toString().trim()).toBe("mcp-server: MCP_DOCS_SOURCE: /nonexistent/docs does not exist");
});

test("--help prints every setting, --version the version", () => {
  const help = run(["--help"]);
  expect(help.exitCode).toBe(0);
  expect(help.stdout.toString()).toContain("MCP_DOCS_SOURCE");
  const version = run(["--version"]);
  expect(version.stdout.toString().trim()).toBe(pkg.version);
});

test("MCP_TEST_TUNING is checked like a setting: an unknown knob (a crash point included) or a bad value is a one-line error, exit 2", () => {
  const cases: [string, string][] = [
    ['{"crashAt":"order"}', "mcp-server: MCP_TEST_TUNING: crashAt: is not a knob; the knobs are retryMinMs, retryMaxMs, drainMs, storagePollMs, acmeTimeoutMs, lockTtlMs, insightsShareMs"],
    ['{"pauseAt":"order","retryMinMs":200}', "mcp-server: MCP_TEST_TUNING: pauseAt: is not a knob;"],
    ['{"retryMinMs":-1}', "mcp-server: MCP_TEST_TUNING: retryMinMs: must be at least 1 ms;"],
    ['{"drainMs":"fast"}', "mcp-server: MCP_TEST_TUNING: drainMs: must be a number of milliseconds;"],
    ["retryMinMs=200", 'mcp-server: MCP_TEST_TUNING: must be a JSON object such as {"retryMinMs":200}'],
  ];
  for (const [tuning, message] of cases) {
    const result = run([], { MCP_TEST_TUNING: tuning, MCP_PORT: "0", MCP_HOST: "127.0.0.1" });
    expect(result.exitCode).toBe(2);
    const stderr = result.stderr.toString();
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toStartWith(message);
    expect(stderr).not.toContain("    at ");
  }
});
