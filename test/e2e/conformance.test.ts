import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";

// The official MCP conformance suite (@modelcontextprotocol/conformance),
// run under bun because it needs a newer Node than many machines have.
// Only the scenarios that apply to a documentation server are listed: the
// others test tools, prompts and features (sampling, elicitation, logging,
// resumable streams) that this server does not offer.
const SCENARIOS = [
  "server-initialize",
  "ping",
  "tools-list",
  "resources-list",
  "dns-rebinding-protection",
  "server-sse-multiple-streams",
];

const cli = join(import.meta.dir, "../../node_modules/@modelcontextprotocol/conformance/dist/index.js");
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

test.each(SCENARIOS)("conformance scenario %s passes", async (scenario) => {
  // 127.0.0.1, not localhost: the suite's DNS-rebinding scenario needs a
  // loopback URL, and localhost may resolve to ::1 first.
  const child = Bun.spawn([process.execPath, cli, "server", "--url", `http://127.0.0.1:${server.port}/mcp`, "--scenario", scenario], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(stdout);
  if (exitCode !== 0 || !summary) console.error(stdout, stderr);
  expect(exitCode).toBe(0);
  expect(summary?.[3]).toBe("0");
  expect(Number(summary?.[1])).toBeGreaterThan(0);
});
