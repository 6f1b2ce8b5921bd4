import pkg from "../package.json" with { type: "json" };
import { ConfigError, helpText, parseCommand, type Config } from "./config/index.ts";
import { parseTuning, type Tuning } from "./config/tuning.ts";
import { SourceSettingError } from "./docs/create-source.ts";
import type { Library } from "./docs/library.ts";
import { createApp, healthReport } from "./http/app.ts";
import { createLogger, type Logger } from "./log/index.ts";
import { collectRenewalWindow } from "./metrics/certificate.ts";
import { httpListener } from "./server/http-listener.ts";
import { httpsListener } from "./server/https-listener.ts";
import type { Listener } from "./server/listener.ts";
import { startParts, type Parts } from "./server/parts.ts";
import type { HttpsServer, OrderStepHook } from "./tls/https-server.ts";

export const VERSION: string = pkg.version;

/** A started server, for the CLI below and for tests that run it in-process. */
export interface RunningServer {
  /** Base URL clients use, such as `http://localhost:8080` or `https://docs.example.com`. */
  url: URL;
  /** Port of the MCP server (known once listening; with TLS, once a certificate is held). */
  readonly port: number;
  library: Library;
  /** Settles once the first load of the documentation has been tried (it runs after listening starts). */
  loaded: Promise<void>;
  /** With `MCP_DOMAINS`: the certificate machinery. */
  https?: HttpsServer;
  /**
   * Graceful stop: stops accepting, lets requests in flight finish (within
   * `deadlineMs`), then closes sessions and event streams, releases storage
   * locks and stops every listener.
   */
  stop(deadlineMs?: number): Promise<void>;
  /** SIGHUP: reloads the documentation source and re-reads certificates from storage. */
  reload(): Promise<void>;
}

/** How long a shutdown waits for requests in flight. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** What a caller other than the CLI may change. The shipped binary sets only `tuning`, from `MCP_TEST_TUNING`. */
export interface ServerOptions {
  /** Where clients connect; by default HTTPS when domains are configured, plain HTTP otherwise. */
  listener?: Listener;
  /** Timing knobs (`MCP_TEST_TUNING`). */
  tuning?: Tuning;
  /**
   * Called at each step of a certificate order. Not reachable from the
   * environment or the command line: only a test entry point
   * (test/support/server-entry.ts) passes one, to install crash points.
   */
  onOrderStep?: OrderStepHook;
}

/**
 * Wires the parts together, one lifecycle for both modes: the listener
 * (plain HTTP, or HTTPS with a certificate of its own when domains are
 * configured) opens, the documentation source → library (index) → MCP
 * sessions → HTTP app start behind it, and the listener serves the app.
 *
 * @throws SourceSettingError when the documentation source setting names nothing usable.
 */
export async function startServer(config: Config, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const listener =
    options.listener ?? (config.domains ? httpsListener(config, config.domains, logger, options) : httpListener(config, logger));
  const url = await listener.open();
  let parts: Parts | undefined;
  try {
    parts = await startParts(config, url, logger, listener.names, VERSION, options.tuning);
    const { appOptions } = parts;
    const app = createApp({ ...appOptions, certificate: listener.certificate });
    if (listener.certificate) collectRenewalWindow(appOptions.metrics, listener.certificate);
    await listener.serve({ fetch: (request, server) => app.fetch(request, server), health: (certificate) => healthReport(appOptions, certificate) });
  } catch (error) {
    await parts?.stop();
    await listener.stop();
    throw error;
  }
  const running = parts;
  return {
    url,
    get port() {
      return listener.port;
    },
    library: running.library,
    loaded: running.loaded,
    https: listener.https,
    async stop(deadlineMs = SHUTDOWN_DEADLINE_MS) {
      listener.stopAccepting();
      await running.drain(deadlineMs);
      await running.stop();
      await listener.stop();
    },
    async reload() {
      await running.reload();
      await listener.reload();
    },
  };
}

/**
 * The command line: `mcp-server [--flag value ...]`. Returns the exit status
 * for user errors. `hooks` is for test entry points only.
 */
export async function main(
  argv: string[],
  env: Record<string, string | undefined>,
  hooks: Pick<ServerOptions, "onOrderStep"> = {},
): Promise<number | undefined> {
  let config: Config;
  let tuning: Tuning;
  try {
    const command = parseCommand(argv, env);
    if (command.kind === "help") return void console.log(helpText(VERSION)), 0;
    if (command.kind === "version") return void console.log(VERSION), 0;
    config = command.config;
    tuning = parseTuning(env.MCP_TEST_TUNING);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`mcp-server: ${error.message}`);
    return 2;
  }

  const logger = createLogger(config.logLevel);
  // Signals are handled from the first moment: a SIGHUP that arrives while
  // starting must not kill the process (its default action).
  let running: RunningServer | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping", { signal });
    await running?.stop();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGHUP", () => {
    if (!running) return;
    logger.info("reloading", { signal: "SIGHUP" });
    void running.reload().catch((error) => logger.error("reload failed", { error }));
  });

  try {
    running = await startServer(config, logger, { tuning, onOrderStep: hooks.onOrderStep });
  } catch (error) {
    if (error instanceof SourceSettingError) {
      console.error(`mcp-server: ${error.message}`);
      return 2;
    }
    if ((error as { code?: string }).code === "EADDRINUSE") {
      // Bun's message names the port that was taken (the MCP port or the ACME port).
      console.error(`mcp-server: ${(error as Error).message} Set MCP_PORT (or MCP_ACME_PORT for port ${config.acmePort}) to a free port.`);
      return 1;
    }
    throw error;
  }
  return undefined;
}

if (import.meta.main) {
  const status = await main(process.argv.slice(2), process.env);
  if (status !== undefined) process.exit(status);
}
