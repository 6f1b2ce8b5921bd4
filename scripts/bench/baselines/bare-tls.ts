/**
 * Baseline: a bare `Bun.serve`, compiled like the product, with the same
 * certificate. GET /healthz answers a small JSON object; any POST reads the
 * request body and answers a fixed body (the product's answer, padded to the
 * same size) as application/json. The floor for "an HTTPS JSON endpoint".
 *
 * Environment:
 *   BENCH_PORT          port on 127.0.0.1
 *   BENCH_CERT/BENCH_KEY  PEM files: serve https with them (else plain http)
 *   BENCH_BODY          file holding the POST answer (default: {"ok":true})
 *   BENCH_PARSE=1       the floor of a JSON-RPC endpoint instead: parse the
 *                       request as JSON and write the answer's JSON with its
 *                       id (BENCH_BODY's `result`, serialized per request),
 *                       which any MCP server must do at the least
 */
import { readFileSync } from "node:fs";

const env = process.env;
const body = env.BENCH_BODY ? readFileSync(env.BENCH_BODY) : Buffer.from('{"ok":true}');
const parse = env.BENCH_PARSE === "1";
const result = parse ? (JSON.parse(body.toString("utf8")) as { result?: unknown }).result ?? {} : undefined;

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(env.BENCH_PORT),
  tls: env.BENCH_CERT ? { cert: readFileSync(env.BENCH_CERT, "utf8"), key: readFileSync(env.BENCH_KEY!, "utf8") } : undefined,
  async fetch(request) {
    if (request.method === "POST") {
      if (parse) {
        const rpc = (await request.json()) as { id?: unknown };
        return new Response(JSON.stringify({ jsonrpc: "2.0", id: rpc.id, result }), { headers: { "Content-Type": "application/json" } });
      }
      await request.arrayBuffer();
      return new Response(body, { headers: { "Content-Type": "application/json" } });
    }
    if (new URL(request.url).pathname === "/healthz") return Response.json({ status: "ok" });
    return new Response("not found\n", { status: 404 });
  },
});
