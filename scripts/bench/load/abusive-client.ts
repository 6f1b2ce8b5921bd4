/**
 * Load for item 8: one client (one source address) keeping `BENCH_IN_FLIGHT`
 * maximum-size MCP 2026-07-28 searches in flight until killed. A process of
 * its own, so that its work is not done on the measuring process's thread.
 *
 * Environment: BENCH_PORT, BENCH_FROM (local address), BENCH_IN_FLIGHT.
 * Prints `ready` once the first answers came, and counts on SIGTERM.
 */
import http from "node:http";

const port = Number(process.env.BENCH_PORT);
const from = process.env.BENCH_FROM ?? "127.0.0.2";
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 32);
const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
// Under MCP_MAX_BODY (1 MiB), as the attack's were.
const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search", arguments: { query: "certificate renewal backoff ".repeat(35_000) }, _meta: meta } });
const headers = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": "tools/call",
  "mcp-name": "search",
};
const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight, localAddress: from } as http.AgentOptions);
const counts: Record<string, number> = {};
let announced = false;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers, agent }, (res) => {
      res.resume();
      res.on("end", () => {
        counts[res.statusCode!] = (counts[res.statusCode!] ?? 0) + 1;
        if (!announced) {
          announced = true;
          console.log("ready");
        }
        resolve();
      });
    });
    req.on("error", () => resolve());
    req.end(body);
  });
}

process.on("SIGTERM", () => {
  console.log(JSON.stringify(counts));
  process.exit(0);
});
await Promise.all(Array.from({ length: inFlight }, async () => {
  for (;;) await once();
}));
