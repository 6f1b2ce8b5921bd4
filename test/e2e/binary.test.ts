import { beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { connectClient, tempDir, toolJson } from "../support/server.ts";

// The product as shipped: `npm run build` compiles one binary with the guide
// inside, and it runs from any directory with no files around it.
const root = join(import.meta.dir, "../..");
const binary = join(root, "mcp-server");

beforeAll(() => {
  const build = Bun.spawnSync(["npm", "run", "build"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  expect(existsSync(binary)).toBe(true);
});

test("the binary carries no fault-injection code, and refuses a crash point as tuning", async () => {
  // The crash points live in test/support/server-entry.ts only. Their
  // strings, and FaultyStorage's, would be in the binary if any of that code
  // were (bun embeds the source of what it compiles); a log message of the
  // maintenance loop shows the search would find them.
  const shipped = Buffer.from(await Bun.file(binary).arrayBuffer());
  expect(shipped.includes("certificate renewal failed; still serving the current certificate")).toBe(true);
  for (const marker of ["test crash point reached", "test pause point reached", "MCP_TEST_FAULTS", "crashAt", "pauseAt", "FaultyStorage", "failWrites"]) {
    expect(`${marker}: ${shipped.includes(marker)}`).toBe(`${marker}: false`);
  }
  const refused = Bun.spawnSync([binary], { env: { PATH: process.env.PATH ?? "", MCP_TEST_TUNING: '{"crashAt":"order"}' }, stdout: "pipe", stderr: "pipe" });
  expect(refused.exitCode).toBe(2);
  expect(refused.stderr.toString().trim()).toStartWith("mcp-server: MCP_TEST_TUNING: crashAt: is not a knob;");
});

test("--version and --help work from any directory", () => {
  const elsewhere = tempDir();
  const version = Bun.spawnSync([binary, "--version"], { cwd: elsewhere.path });
  expect(version.stdout.toString().trim()).toBe(pkg.version);
  const help = Bun.spawnSync([binary, "--help"], { cwd: elsewhere.path });
  expect(help.exitCode).toBe(0);
  expect(help.stdout.toString()).toContain("MCP_DOMAINS");
  elsewhere.remove();
});

test("serves the embedded guide end to end from an empty directory", async () => {
  const elsewhere = tempDir();
  // A .env in the working directory must not be read by the service.
  await Bun.write(join(elsewhere.path, ".env"), "MCP_DOCS_SOURCE=/nonexistent\n");
  const proc = Bun.spawn([binary], { cwd: elsewhere.path, env: { PATH: process.env.PATH ?? "", MCP_PORT: "0", MCP_HOST: "127.0.0.1" }, stdout: "pipe", stderr: "pipe" });
  try {
    const reader = proc.stdout.getReader();
    let log = "";
    while (!/msg=listening.*port=(\d+)/.test(log)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`binary exited: ${log}${await new Response(proc.stderr).text()}`);
      log += new TextDecoder().decode(value);
    }
    const port = Number(/msg=listening.*port=(\d+)/.exec(log)![1]);
    const client = await connectClient(new URL(`http://127.0.0.1:${port}`), "streamable");
    const { results } = toolJson(await client.callTool({ name: "search", arguments: { query: "install the systemd unit" } }));
    expect(results.length).toBeGreaterThan(0);
    const page = toolJson(await client.callTool({ name: "fetch", arguments: { id: "getting-started" } }));
    expect(page.text).toContain("npm run dev");
    await client.close();
    reader.releaseLock();
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    elsewhere.remove();
  }
});
