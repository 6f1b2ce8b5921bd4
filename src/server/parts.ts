import { resolve } from "node:path";
import type { Config } from "../config/index.ts";
import { createSource } from "../docs/create-source.ts";
import { Library } from "../docs/library.ts";
import { isEventStream, MESSAGE_PATH, type AppOptions } from "../http/app.ts";
import { streamSlots } from "../http/client-limits/index.ts";
import { inFlightRequests } from "../http/in-flight/index.ts";
import type { Logger } from "../log/index.ts";
import { McpDispatcher } from "../mcp/dispatcher.ts";
import { SessionRegistry } from "../mcp/sessions.ts";
import { StatelessEndpoint } from "../mcp/stateless.ts";
import { Subscriptions } from "../mcp/subscriptions.ts";
import { createMetrics } from "../metrics/index.ts";
import { hostPolicy } from "./allowed-hosts.ts";

/** What the server runs behind its listener, whichever it is. */
export interface Parts {
  library: Library;
  /** Everything `createApp` needs but the certificate state, which the listener has. */
  appOptions: AppOptions;
  /** Settles once the first load of the documentation has been tried. */
  loaded: Promise<void>;
  /** Waits for requests in flight (up to `deadlineMs`), asking their clients to close their connections. */
  drain(deadlineMs: number): Promise<void>;
  /** Closes the library, the sessions, subscriptions and their event streams. */
  stop(): Promise<void>;
  /** SIGHUP: reloads the documentation source. */
  reload(): Promise<void>;
}

/**
 * The parts both modes share: the documentation source and the library
 * that indexes it, MCP sessions, metrics, and the app's options. The first
 * index is built in the background: MCP answers meanwhile, and requests
 * that need documentation wait for it (Library.whenReady).
 *
 * @throws SourceSettingError when the documentation source setting names nothing usable.
 */
export async function startParts(config: Config, publicUrl: URL, logger: Logger, names: readonly string[], version: string): Promise<Parts> {
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
  const loaded = library.refresh().then(() => library.startRefreshing());

  const dispatcher = new McpDispatcher({
    library,
    name: "mcp-server",
    version,
    // Clients may keep lists and pages until the source is next checked (an hour when it never is: SIGHUP still reloads).
    cacheTtlMs: config.docsRefresh > 0 ? config.docsRefresh : 3_600_000,
    cacheScope: config.authToken ? "private" : "public",
  });
  const streams = streamSlots(config.maxStreamsPerClient);
  const subscriptions = new Subscriptions({ keepAliveMs: 15_000, acquireStream: streams.acquire });
  const sessions = config.stateless
    ? undefined
    : new SessionRegistry({
        dispatcher,
        maxSessions: config.maxSessions,
        maxSessionsPerClient: config.maxSessionsPerClient,
        idleMs: config.sessionIdle,
        maxBodyBytes: config.maxBody,
        messagePath: MESSAGE_PATH,
        logger: logger.child("mcp"),
      });
  // A refresh that replaces the index changes the resource list: tell who listens.
  library.onReplaced(() => {
    subscriptions.resourcesChanged();
    sessions?.notifyAll("notifications/resources/list_changed");
  });

  const inFlight = inFlightRequests({ isStream: isEventStream });
  const appOptions: AppOptions = {
    library,
    sessions,
    version,
    maxBodyBytes: config.maxBody,
    metrics,
    inFlight,
    authToken: config.authToken,
    stateless: new StatelessEndpoint({ dispatcher, subscriptions }),
    metricsAccess: config.metrics as "public" | "private" | "off",
    limits: { maxConcurrent: config.maxRequestsPerClient, streams },
    clientIpv6Prefix: config.clientIpv6Prefix,
    hosts: hostPolicy(config, names),
    logger: logger.child("http"),
  };
  const log = logger.child("main");
  return {
    library,
    appOptions,
    loaded,
    async drain(deadlineMs) {
      inFlight.draining = true;
      if (!(await inFlight.idle(deadlineMs))) log.warn("shutdown deadline passed with requests in flight", { inFlight: inFlight.count });
    },
    async stop() {
      library.close();
      subscriptions.closeAll();
      await sessions?.closeAll();
    },
    async reload() {
      await library.refresh();
    },
  };
}
