import { resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { ConfigError, helpText, parseCommand, type Config } from "./config/index.ts";
import { createSource, SourceSettingError } from "./docs/create-source.ts";
import { Library } from "./docs/library.ts";
import { createLogger, type Logger } from "./log/index.ts";
import { mcpServerFactory } from "./mcp/server.ts";
import { SessionRegistry } from "./mcp/sessions.ts";
import { StatelessEndpoint } from "./mcp/stateless.ts";
import { createApp, healthReport, isEventStream, MESSAGE_PATH, type AppOptions } from "./http/app.ts";
import { createStorage } from "./storage/create-storage.ts";
import { startHttpsServer, type HttpsServer, type OrderStepHook } from "./tls/https-server.ts";
import { parseTuning, type Tuning } from "./config/tuning.ts";
import { directoryUrl } from "./tls/directory.ts";
import { createMetrics } from "./metrics/index.ts";
import { inFlightRequests } from "./http/in-flight/index.ts";

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

/** What tests may change: never set by the shipped binary beyond `MCP_TEST_TUNING`'s timing. */
export interface ServerOptions {
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
 * Wires the parts together: documentation source → library (index) → MCP
 * sessions → HTTP app → `Bun.serve`, over plain HTTP, or over HTTPS with a
 * certificate of its own when domains are configured.
 *
 * @throws SourceSettingError when the documentation source setting names nothing usable.
 */
export async function startServer(config: Config, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  if (config.domains) return startWithTls(config, config.domains, logger, options);

  logger.warn("TLS is off: serving plain HTTP; set MCP_DOMAINS to get a certificate and serve HTTPS");
  // Listen first: a taken port fails at once rather than after indexing, and
  // the real port is known (with port 0) before page URLs are made from it.
  let handle: (request: Request, server: Bun.Server<unknown>) => Response | Promise<Response> = () =>
    Response.json({ status: "starting" }, { status: 503, headers: { "Retry-After": "1" } });
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    // Closes idle keep-alive connections and stalled requests; event streams lift it for themselves.
    idleTimeout: config.idleTimeout / 1000,
    fetch: (request, bunServer) => handle(request, bunServer),
  });
  const url = new URL(`http://localhost:${server.port}`);
  const parts = await startParts(config, url, logger).catch(async (error) => {
    await server.stop(true);
    throw error;
  });
  const app = createApp({ ...parts.appOptions });
  handle = (request, bunServer) => app.fetch(request, bunServer);
  logger.info("listening", { url: `${url.origin}/mcp`, sse: `${url.origin}/sse`, host: config.host, port: server.port });

  return {
    url,
    port: server.port!,
    library: parts.library,
    loaded: parts.loaded,
    async stop(deadlineMs = SHUTDOWN_DEADLINE_MS) {
      // Not awaited: a graceful stop would wait for event streams forever.
      void server.stop(false);
      await parts.drain(deadlineMs);
      await parts.stop();
      await server.stop(true);
    },
    reload: () => parts.reload(),
  };
}

async function startWithTls(config: Config, domains: string[], logger: Logger, options: ServerOptions): Promise<RunningServer> {
  const { storage, notifier } = await createStorage({
    storage: config.storage,
    certsDir: config.certsDir,
    namespace: config.storageNamespace,
    encryptionKey: config.storageEncryptionKey,
  });
  logger.info("certificate storage", { storage: storage.description });
  const primary = domains[0]!;
  const url = new URL(`https://${primary}${config.port === 443 ? "" : `:${config.port}`}`);
  const parts = await startParts(config, url, logger, domains);
  let app: ReturnType<typeof createApp> | undefined;
  const https = await startHttpsServer({
    hostname: config.host,
    port: config.port,
    acmePort: config.acmePort,
    acmeListen: config.acmeListen as "always" | "on-demand",
    domains,
    storage,
    notifier,
    acme: {
      directoryUrl: directoryUrl(config.acmeDirectory),
      email: config.acmeEmail,
      eab: config.acmeEabKid && config.acmeEabHmacKey ? { kid: config.acmeEabKid, hmacKey: config.acmeEabHmacKey } : undefined,
      profile: config.acmeProfile,
      keyType: config.keyType as "ecdsa" | "rsa",
    },
    renewRatio: config.renewRatio,
    fetch: (request, bunServer) => app!.fetch(request, bunServer),
    health: (certificate) => healthReport(parts.appOptions, certificate),
    // Closes idle keep-alive connections and stalled requests; event streams lift it for themselves.
    idleTimeout: config.idleTimeout / 1000,
    logger: logger.child("tls"),
    tuning: options.tuning,
    onOrderStep: options.onOrderStep,
  });
  app = createApp({ ...parts.appOptions, certificate: () => https.certificates.status() });

  return {
    url,
    get port() {
      return https.port ?? config.port;
    },
    library: parts.library,
    loaded: parts.loaded,
    https,
    async stop(deadlineMs = SHUTDOWN_DEADLINE_MS) {
      https.stopAccepting();
      await parts.drain(deadlineMs);
      await parts.stop();
      await https.stop();
      await storage.close();
    },
    async reload() {
      await parts.reload();
      await https.certificates.reload();
    },
  };
}

/** The parts both modes share: documentation, MCP sessions, and the app's options. */
async function startParts(config: Config, publicUrl: URL, logger: Logger, domains: string[] = []) {
  const source = await createSource({
    source: config.docsSource,
    baseUrl: config.docsBaseUrl,
    selfDocsUrl: `${publicUrl.origin}/docs/`,
    dataDir: resolve(config.dataDir),
  });
  const metrics = createMetrics();
  const library = new Library({
    source,
    logger: logger.child("docs"),
    title: config.docsTitle,
    refreshMs: config.docsRefresh,
    onSearch: (seconds) => metrics.searchSeconds.observe(seconds),
  });
  // Not awaited: MCP answers while the first index is built, and requests
  // that need documentation wait for it (Library.whenReady).
  const loaded = library.refresh().then(() => library.startRefreshing());

  const newServer = mcpServerFactory({ library, name: "mcp-server", version: VERSION });
  const sessions = new SessionRegistry({
    newServer,
    maxSessions: config.maxSessions,
    maxSessionsPerClient: config.maxSessionsPerClient,
    idleMs: config.sessionIdle,
    maxBodyBytes: config.maxBody,
    messagePath: MESSAGE_PATH,
    logger: logger.child("mcp"),
  });

  const inFlight = inFlightRequests({ isStream: isEventStream });
  const bindsEverywhere = ["::", "0.0.0.0", "localhost", "127.0.0.1", "::1"].includes(config.host);
  const appOptions: AppOptions = {
    library,
    sessions,
    version: VERSION,
    maxBodyBytes: config.maxBody,
    metrics,
    inFlight,
    authToken: config.authToken,
    stateless: config.stateless ? new StatelessEndpoint(newServer()) : undefined,
    metricsAccess: config.metrics as "public" | "private" | "off",
    limits: { maxConcurrent: config.maxRequestsPerClient, maxStreams: config.maxStreamsPerClient },
    hosts: {
      // Our domains, the extra names, and a specific listen address, which
      // clients may use as a name too.
      allowedHosts: [...domains, ...(config.allowedHosts ?? []), ...(bindsEverywhere ? [] : [config.host])],
      allowedOrigins: config.allowedOrigins ?? [],
      allowLoopback: true,
    },
    logger: logger.child("http"),
  };
  const log = logger.child("main");
  return {
    library,
    appOptions,
    loaded,
    /** Waits for requests in flight, asking their clients to close their connections. */
    async drain(deadlineMs: number) {
      inFlight.draining = true;
      if (!(await inFlight.idle(deadlineMs))) log.warn("shutdown deadline passed with requests in flight", { inFlight: inFlight.count });
    },
    async stop() {
      library.close();
      await sessions.closeAll();
    },
    async reload() {
      await library.refresh();
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
