/**
 * MCP 2026-07-28 tool calls over plain HTTP from a chosen loopback address
 * (127.0.0.2 and up are loopback too), so that tests can act as several
 * distinct clients: `fetch` cannot pick its local address.
 */
import http from "node:http";

export interface Answer {
  status: number;
  body: string;
}

/** One HTTP request from `from` (a local address). */
export function requestFrom(port: number, options: { path: string; headers?: Record<string, string>; body?: string; from?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", family: 4, port, path: options.path, method: options.body === undefined ? "GET" : "POST", headers: options.headers, localAddress: options.from, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const META = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };

/** A stateless 2026-07-28 `tools/call` from `from`; its `structuredContent`, or the error text. */
export async function callTool(port: number, name: string, args: Record<string, unknown>, from?: string): Promise<{ structured?: any; error?: string }> {
  const answer = await requestFrom(port, {
    path: "/mcp",
    from,
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args, _meta: META } }),
  });
  if (answer.status !== 200) throw new Error(`tools/call answered HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
  const { result } = JSON.parse(answer.body);
  return result.isError ? { error: result.content[0].text } : { structured: result.structuredContent };
}
