/**
 * MCP 2026-07-28 is stateless, so any replica answers any request: two real
 * server processes that share nothing (no Redis, not even MCP_STATELESS),
 * and one client whose requests alternate between them, request by request,
 * never notices.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { loggedPort, spawnServer, type ServerProcess } from "../support/process.ts";
import { tempDir } from "../support/server.ts";

const replicas: ServerProcess[] = [];
const ports: number[] = [];
const dirs: { remove: () => void }[] = [];
beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const data = tempDir();
    dirs.push(data);
    const replica = spawnServer({ MCP_PORT: "0", MCP_HOST: "127.0.0.1", MCP_DATA_DIR: data.path });
    replicas.push(replica);
    ports.push(loggedPort(await replica.waitFor(/msg=listening/)));
    await replica.waitFor(/msg="documentation indexed"/);
  }
});
afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
  for (const dir of dirs) dir.remove();
});

test("a 2026-07-28 client alternating between two replicas, request by request, never notices", async () => {
  const served: number[] = [];
  let next = 0;
  // A load balancer in miniature: every request goes to the other replica.
  const alternating = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    url.port = String(ports[next % 2]);
    served.push(next++ % 2);
    return fetch(url, init);
  }) as typeof fetch;

  const client = new Client({ name: "replica-client", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${ports[0]}/mcp`), { fetch: alternating }));
  const { tools } = await client.listTools();
  expect(tools.map((tool) => tool.name)).toEqual(["search", "fetch"]);
  for (const query of ["connect ChatGPT", "bearer token", "certificate renewal", "stateless replicas"]) {
    const found = await client.callTool({ name: "search", arguments: { query } });
    const first = (found.structuredContent as { results: { id: string }[] }).results[0]!;
    const page = await client.callTool({ name: "fetch", arguments: { id: first.id } });
    expect((page.structuredContent as { id: string }).id).toBe(first.id);
  }
  const read = await client.readResource({ uri: "docs://getting-started" });
  expect((read.contents[0] as { text: string }).text).toContain("npm run dev");
  await client.close();

  // Both replicas really answered, in turn.
  expect(served.filter((replica) => replica === 0).length).toBeGreaterThan(3);
  expect(served.filter((replica) => replica === 1).length).toBeGreaterThan(3);
  for (const replica of replicas) expect(replica.count(/level=error/)).toBe(0);
});
