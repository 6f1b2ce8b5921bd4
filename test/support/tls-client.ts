import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";

/**
 * A fetch that reaches `https://<domain>:<port>` on loopback and verifies the
 * certificate against `ca` for `domain`, as a real client resolving the
 * domain to this machine would; no /etc/hosts entry needed.
 */
export function loopbackFetch(domain: string, ca: string): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.hostname !== domain) return fetch(request);
    const host = url.host;
    url.hostname = "127.0.0.1";
    const headers = new Headers(request.headers);
    headers.set("Host", host);
    return fetch(url, {
      method: request.method,
      headers,
      body: request.body,
      signal: request.signal,
      redirect: "manual",
      tls: { ca: [ca], serverName: domain },
    } as RequestInit);
  }) as typeof fetch;
}

/** An MCP SDK client over https to `domain`, trusting only `ca`. */
export async function connectHttps(domain: string, port: number, ca: string, transport: "streamable" | "sse" = "streamable"): Promise<Client> {
  const client = new Client({ name: "mcp-server-tls-tests", version: "1.0.0" });
  const fetchImpl = loopbackFetch(domain, ca);
  const base = new URL(`https://${domain}:${port}`);
  await client.connect(
    transport === "streamable"
      ? new StreamableHTTPClientTransport(new URL("/mcp", base), { fetch: fetchImpl })
      : new SSEClientTransport(new URL("/sse", base), { fetch: fetchImpl, eventSourceInit: { fetch: fetchImpl } }),
  );
  return client;
}

/** The certificate a TLS handshake to 127.0.0.1:`port` with SNI `domain` presents (not verified). */
export function peerCertificate(domain: string, port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: domain, rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate(true);
      socket.end();
      resolve(certificate);
    });
    socket.once("error", reject);
  });
}
