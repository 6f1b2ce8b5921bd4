import type { Server } from "bun";
import { constants } from "node:crypto";
import type { Logger } from "../log/index.ts";

/** TLS 1.2 is the floor: 1.0 and 1.1 are refused explicitly, not left to the build's defaults. */
const TLS_1_2_MINIMUM = constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;

type Handler = (request: Request, server: Server<unknown>) => Response | Promise<Response>;

export interface TlsListenerOptions {
  hostname: string;
  port: number;
  fetch: Handler;
  idleTimeout: number;
  logger: Logger;
  /** How long a replaced server keeps answering, with `Connection: close`, before it stops listening. */
  drainMs?: number;
  /** How long event streams may stay on a replaced server before they are cut (clients reconnect). */
  streamGraceMs?: number;
}

interface Generation {
  server: Server<unknown>;
  draining: boolean;
}

/**
 * The HTTPS listener, with certificates swapped in without a restart.
 *
 * Bun 1.4's `server.reload({ tls })` ignores `tls`, so a swap starts a second
 * server on the same port (`reusePort`) with the new certificate, then
 * retires the old one gently: for `drainMs` its responses carry
 * `Connection: close`, so every keep-alive client finishes its request and
 * reconnects (landing on the new server) instead of having an idle
 * connection dropped under it; then it stops listening without waiting for
 * event streams, which are cut after `streamGraceMs` at the latest.
 */
export class TlsListener {
  #active: Generation | undefined;
  readonly #retiring = new Set<Generation>();
  readonly #log: Logger;

  constructor(private readonly options: TlsListenerOptions) {
    this.#log = options.logger;
  }

  get port(): number | undefined {
    return this.#active?.server.port;
  }

  /** Serves with this certificate: starts the listener, or swaps the certificate of the running one. */
  async serve(certPem: string, keyPem: string): Promise<void> {
    const previous = this.#active;
    const generation: Generation = { server: undefined as unknown as Server<unknown>, draining: false };
    generation.server = Bun.serve({
      hostname: this.options.hostname,
      // The port the first server got (matters when configured as 0 in tests).
      port: previous?.server.port ?? this.options.port,
      reusePort: true,
      idleTimeout: this.options.idleTimeout,
      // The PEM holds the whole chain (leaf, then intermediates): served complete.
      tls: { cert: certPem, key: keyPem, secureOptions: TLS_1_2_MINIMUM },
      fetch: async (request, server) => {
        const response = await this.options.fetch(request, server);
        return generation.draining ? withConnectionClose(response) : response;
      },
    });
    this.#active = generation;
    if (previous) this.#retire(previous);
  }

  #retire(generation: Generation): void {
    generation.draining = true;
    this.#retiring.add(generation);
    const drainMs = this.options.drainMs ?? 500;
    const graceMs = this.options.streamGraceMs ?? 30_000;
    setTimeout(() => {
      // Not awaited: a graceful stop waits for open event streams forever.
      void generation.server.stop(false);
      setTimeout(() => {
        void generation.server.stop(true);
        this.#retiring.delete(generation);
      }, graceMs).unref?.();
    }, drainMs).unref?.();
    this.#log.debug("retiring previous TLS server", { drainMs, graceMs });
  }

  /** Stops accepting connections; requests in flight go on (graceful shutdown, first step). */
  stopAccepting(): void {
    for (const generation of [...this.#retiring, ...(this.#active ? [this.#active] : [])]) void generation.server.stop(false);
  }

  /** Stops every server now, open streams included. */
  async stop(): Promise<void> {
    const all = [...this.#retiring, ...(this.#active ? [this.#active] : [])];
    this.#active = undefined;
    this.#retiring.clear();
    await Promise.all(all.map((generation) => generation.server.stop(true)));
  }
}

function withConnectionClose(response: Response): Response {
  try {
    response.headers.set("Connection", "close");
    return response;
  } catch {
    // Immutable headers (a response from fetch, a Response.redirect): copy them.
    const copy = new Response(response.body, response);
    copy.headers.set("Connection", "close");
    return copy;
  }
}
