import type { Server } from "bun";
import type { HttpsServer } from "../tls/https-server.ts";
import type { CertificateStatus } from "../tls/maintain.ts";

export type FetchHandler = (request: Request, server: Server<unknown>) => Response | Promise<Response>;

/** What a listener serves once the parts are up. */
export interface Served {
  /** The app. */
  fetch: FetchHandler;
  /** `/healthz` for the listener's own extra ports (port 80), given the certificate state. */
  health: (certificate: CertificateStatus) => { ready: boolean; body: unknown };
}

/**
 * Where the server meets its clients: plain HTTP (http-listener.ts), or
 * HTTPS with a certificate of its own (https-listener.ts). main.ts runs one
 * lifecycle over either, and a test may inject its own: open, start the
 * parts, serve; then stop accepting, drain, stop.
 */
export interface Listener {
  /**
   * Gets ready and resolves the base URL clients use. Plain HTTP listens
   * here already (answering 503 until `serve`), so that a taken port fails
   * at once and port 0 is resolved before page URLs are made from it.
   * @throws EADDRINUSE when the port is taken; TypeError on bad storage settings.
   */
  open(): Promise<URL>;
  /** Host names the server answers to besides loopback and the configured ones: its domains. */
  readonly names: readonly string[];
  /** Certificate state, when the listener has a certificate of its own. */
  readonly certificate?: () => CertificateStatus;
  /**
   * Serves the app. HTTPS serves once a certificate is held, which may come
   * later: this resolves once it is being obtained.
   * @throws EADDRINUSE when a port (the ACME port) is taken.
   */
  serve(served: Served): Promise<void>;
  /** The port of the MCP server: the configured one until it is known. */
  readonly port: number;
  /** With HTTPS: the certificate machinery. */
  readonly https?: HttpsServer;
  /** Stops accepting connections; requests in flight go on (graceful shutdown, first step). */
  stopAccepting(): void;
  /** Stops every server, open streams included, and lets go of storage. Safe before `serve`. */
  stop(): Promise<void>;
  /** SIGHUP: re-reads what the listener keeps outside the process (certificates in storage). */
  reload(): Promise<void>;
}
