import { resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { ConfigError, helpText, parseCommand, type Config } from "./config/index.ts";
import { createSource, SourceSettingError } from "./docs/create-source.ts";
import { Library } from "./docs/library.ts";
import { createLogger, type Logger } from "./log/index.ts";
import { mcpServerFactory } from "./mcp/server.ts";
import { SessionRegistry } from "./mcp/sessions.ts";
import { createApp, MESSAGE_PATH } from "./http/app.ts";

export const VERSION: string = pkg.version;

/** A started server, for the CLI below and for tests that run it in-process. */
export interface RunningServer {
  /** Base URL clients use, such as `http://localhost:8080`. */
  url: URL;
  port: number;
  library: Library;
  /** Stops listening, closes sessions and event streams, stops refreshing. */
  stop(): Promise<void>;
}

/**
 * Wires the parts together: documentation source → library (index) → MCP
 * sessions → HTTP app → `Bun.serve`.
 *
 * @throws SourceSettingError when the documentation source setting names nothing usable.
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  // Listen first: a taken port fails at once rather than after indexing, and
  // the real port is known (with port 0) before page URLs are made from it.
  let handle: (request: Request, server: Bun.Server<unknown>) => Response | Promise<Response> = () =>
    Response.json({ status: "starting" }, { status: 503, headers: { "Retry-After": "1" } });
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    // Closes idle keep-alive connections and stalled requests; event streams
    // lift it for themselves and send keep-alives well inside it.
    idleTimeout: 30,
    fetch: (request, bunServer) => handle(request, bunServer),
  });
  const url = new URL(`http://localhost:${server.port}`);

  const source = await createSource({
    source: config.docsSource,
    baseUrl: config.docsBaseUrl,
    selfDocsUrl: `${url.origin}/docs/`,
    dataDir: resolve(config.dataDir),
  }).catch(async (error) => {
    await server.stop(true);
    throw error;
  });
  const library = new Library({ source, logger: logger.child("docs"), title: config.docsTitle, refreshMs: config.docsRefresh });
  await library.refresh();
  library.startRefreshing();

  const sessions = new SessionRegistry({
    newServer: mcpServerFactory({ library, name: "mcp-server", version: VERSION }),
    maxSessions: config.maxSessions,
    idleMs: config.sessionIdle,
    maxBodyBytes: config.maxBody,
    messagePath: MESSAGE_PATH,
    logger: logger.child("mcp"),
  });

  const bindsEverywhere = ["::", "0.0.0.0", "localhost", "127.0.0.1", "::1"].includes(config.host);
  const app = createApp({
    library,
    sessions,
    version: VERSION,
    maxBodyBytes: config.maxBody,
    hosts: {
      // A specific listen address is a name clients may use, so allow it too.
      allowedHosts: [...(config.allowedHosts ?? []), ...(bindsEverywhere ? [] : [config.host])],
      allowedOrigins: config.allowedOrigins ?? [],
      allowLoopback: true,
    },
    logger: logger.child("http"),
  });
  handle = (request, bunServer) => app.fetch(request, bunServer);
  logger.info("listening", { url: `${url.origin}/mcp`, sse: `${url.origin}/sse`, host: config.host, port: server.port });

  return {
    url,
    port: server.port!,
    library,
    async stop() {
      library.close();
      await sessions.closeAll();
      // Open event streams would keep a graceful stop waiting forever.
      await server.stop(true);
    },
  };
}

/** The command line: `mcp-server [--flag value ...]`. Returns the exit status for user errors. */
export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number | undefined> {
  let config: Config;
  try {
    const command = parseCommand(argv, env);
    if (command.kind === "help") return void console.log(helpText(VERSION)), 0;
    if (command.kind === "version") return void console.log(VERSION), 0;
    config = command.config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`mcp-server: ${error.message}`);
    return 2;
  }

  const logger = createLogger(config.logLevel);
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (error) {
    if (error instanceof SourceSettingError) {
      console.error(`mcp-server: ${error.message}`);
      return 2;
    }
    if ((error as { code?: string }).code === "EADDRINUSE") {
      console.error(`mcp-server: port ${config.port} is already in use; set MCP_PORT or --port to another one`);
      return 1;
    }
    throw error;
  }

  const shutdown = async (signal: string) => {
    logger.info("stopping", { signal });
    await running.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  return undefined;
}

if (import.meta.main) {
  const status = await main(process.argv.slice(2), process.env);
  if (status !== undefined) process.exit(status);
}
