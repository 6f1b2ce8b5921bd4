import type { Server } from "bun";

export interface ChallengeListenerOptions {
  hostname: string;
  port: number;
  /** `always`: port 80 stays up (challenges, /healthz, redirects); `on-demand`: only while an order runs. */
  mode: "always" | "on-demand";
  /** The port-80 handler (`challengeResponder`). */
  fetch: (request: Request) => Response | Promise<Response>;
}

/**
 * The port-80 listener of a TLS deployment, up always or only while an
 * order needs it. It listens from the start either way: a certificate may
 * have to be ordered at once, and with port 0 (tests) the port the CA must
 * reach is only known once bound.
 */
export class ChallengeListener {
  readonly #options: ChallengeListenerOptions;
  #server: Server<unknown> | undefined;
  #port: number | undefined;

  constructor(options: ChallengeListenerOptions) {
    this.#options = options;
  }

  /** The bound port (the configured one, or the one port 0 got). */
  get port(): number | undefined {
    return this.#server?.port ?? this.#port;
  }

  /** Starts listening. @throws EADDRINUSE when the port is taken. */
  start(): void {
    this.#server ??= Bun.serve({
      hostname: this.#options.hostname,
      port: this.#port ?? this.#options.port,
      // Several processes sharing storage can all bind it; whichever the CA
      // reaches answers, since challenges are read from storage.
      reusePort: true,
      idleTimeout: 10,
      fetch: this.#options.fetch,
    });
    this.#port ??= this.#server.port;
  }

  /** Around each order: on demand, listens only while one runs. */
  onOrder(phase: "start" | "end"): void {
    if (this.#options.mode === "always") return;
    if (phase === "start") this.start();
    else this.stop();
  }

  /** Nothing needs ordering now (a certificate is held): on demand, stops listening. */
  idle(): void {
    if (this.#options.mode === "on-demand") this.stop();
  }

  stop(): void {
    void this.#server?.stop(true);
    this.#server = undefined;
  }
}
