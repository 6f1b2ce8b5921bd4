import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { parseCommand, type Config } from "../../src/config/index.ts";
import { startServer, type RunningServer } from "../../src/main.ts";
import { createLogger, type Logger } from "../../src/log/index.ts";

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = "mcp-test-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Config as the CLI would build it from these environment variables, on a free loopback port. */
export function testConfig(env: Record<string, string> = {}): Config {
  const command = parseCommand([], { MCP_HOST: "127.0.0.1", MCP_PORT: "0", MCP_LOG_LEVEL: "error", ...env });
  if (command.kind !== "serve") throw new Error("unexpected command");
  return command.config;
}

export interface TestServer extends RunningServer {
  logs: string[];
  dataDir: string;
  /** Stops the server and removes its data directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts the real server in-process, capturing its log lines. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const data = tempDir();
  const logs: string[] = [];
  const logger: Logger = createLogger("debug", (line) => logs.push(line));
  const running = await startServer(testConfig({ MCP_DATA_DIR: data.path, ...env }), logger);
  await running.loaded;
  return {
    ...running,
    logs,
    dataDir: data.path,
    async [Symbol.asyncDispose]() {
      await running.stop();
      data.remove();
    },
  };
}

/** An SDK client connected over Streamable HTTP (`/mcp`) or legacy SSE (`/sse`). */
export async function connectClient(base: URL, transport: "streamable" | "sse"): Promise<Client> {
  const client = new Client({ name: "mcp-server-tests", version: "1.0.0" });
  await client.connect(
    transport === "streamable" ? new StreamableHTTPClientTransport(new URL("/mcp", base)) : new SSEClientTransport(new URL("/sse", base)),
  );
  return client;
}

/** The JSON a `search`/`fetch` tool result carries in its one text item. */
export function toolJson<T = any>(result: unknown): T {
  const content = (result as { content: { type: string; text: string }[] }).content;
  if (content.length !== 1 || content[0]!.type !== "text") throw new Error(`expected one text item, got ${JSON.stringify(content)}`);
  return JSON.parse(content[0]!.text) as T;
}

export function toolText(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0]!.text;
}
