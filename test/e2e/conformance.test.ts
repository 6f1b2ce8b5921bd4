import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";

// The official MCP conformance suite (@modelcontextprotocol/conformance
// 0.2.0-alpha.12), run under bun because it needs a newer Node than many
// machines have. Each run is exactly what a revision requires
// (`--requirements`), against a baseline of the checks that need the suite's
// own fixtures (tools, prompts and resources by fixed names) or features a
// documentation server does not offer; conformance/expected-failures-*.yml
// says why for each. The suite itself fails a run for an unexpected failure
// and for a baseline entry that passes, so the baseline cannot go stale.

const cli = join(import.meta.dir, "../../node_modules/@modelcontextprotocol/conformance/dist/index.js");

/** Scenarios that must pass in full, per revision: the ones about the protocol rather than fixtures. */
const MUST_PASS: Record<string, string[]> = {
  "2026-07-28": [
    "tools-list",
    "resources-list",
    "prompts-list",
    "caching",
    "sep-2164-resource-not-found",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
    "http-header-validation",
    "input-required-result-unsupported-methods",
    "input-required-result-validate-input",
  ],
  "2025-11-25": ["server-initialize", "ping", "tools-list", "resources-list", "prompts-list", "dns-rebinding-protection", "server-sse-multiple-streams", "server-session-lifecycle"],
};

async function runSuite(port: number, revision: string): Promise<{ exitCode: number; stdout: string }> {
  // 127.0.0.1, not localhost: the DNS-rebinding scenario needs a loopback
  // URL, and localhost may resolve to ::1 first.
  const child = Bun.spawn(
    [process.execPath, cli, "server", "--url", `http://127.0.0.1:${port}/mcp`, "--requirements", revision, "--expected-failures", join(import.meta.dir, `conformance/expected-failures-${revision}.yml`)],
    { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
  );
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) console.error(stdout, stderr);
  return { exitCode, stdout };
}

/** `✓ name: n passed, 0 failed` lines of the summary. */
function passedScenarios(stdout: string): string[] {
  return [...stdout.matchAll(/^✓ ([\w-]+): (\d+) passed, 0 failed$/gm)].filter((match) => Number(match[2]) > 0).map((match) => match[1]!);
}

for (const mode of ["sessions", "MCP_STATELESS"] as const) {
  describe(`with ${mode}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(mode === "MCP_STATELESS" ? { MCP_STATELESS: "true" } : {});
    });
    afterAll(async () => {
      await server[Symbol.asyncDispose]();
    });

    // 2026-07-28 is stateless in both modes; 2025-11-25 sessions only exist with sessions.
    const revisions = mode === "sessions" ? ["2026-07-28", "2025-11-25"] : ["2026-07-28"];
    test.each(revisions)("everything MCP %s requires passes, but for the fixture-bound checks of the baseline", async (revision) => {
      const { exitCode, stdout } = await runSuite(server.port, revision);
      expect(stdout).toContain("Baseline check passed: all failures are expected.");
      expect(exitCode).toBe(0);
      const passed = passedScenarios(stdout);
      for (const scenario of MUST_PASS[revision]!) expect(passed).toContain(scenario);
      if (revision === "2026-07-28") {
        // The stateless scenario itself: everything but its four fixture-bound checks.
        const stateless = /^✗ server-stateless: (\d+) passed, (\d+) failed$/m.exec(stdout);
        expect(stateless?.[2]).toBe("4");
        expect(Number(stateless?.[1])).toBeGreaterThanOrEqual(24);
      }
    });
  });
}
