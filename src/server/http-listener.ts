import type { Server } from "bun";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { Listener, Served } from "./listener.ts";

/**
 * Plain HTTP: for local use, or behind a proxy that terminates TLS.
 *
 * @example
 * const listener = httpListener(config, logger); // then main.ts's startServer(config, logger, { listener })
 */
export function httpListener(config: Pick<Config, "host" | "port" | "idleTimeout">, logger: Logger): Listener {
  let server: Server<unknown> | undefined;
  let served: Served | undefined;
  let url: URL | undefined;
  let port = config.port;
  return {
    names: [],
    async open() {
      logger.warn("TLS is off: serving plain HTTP; set MCP_DOMAINS to get a certificate and serve HTTPS");
      server = Bun.serve({
        hostname: config.host,
        port: config.port,
        // Closes idle keep-alive connections and stalled requests; event streams lift it for themselves.
        idleTimeout: config.idleTimeout / 1000,
        fetch: (request, bunServer) =>
          served ? served.fetch(request, bunServer) : Response.json({ status: "starting" }, { status: 503, headers: { "Retry-After": "1" } }),
      });
      port = server.port!;
      url = new URL(`http://localhost:${port}`);
      return url;
    },
    async serve(app) {
      served = app;
      logger.info("listening", { url: `${url!.origin}/mcp`, sse: `${url!.origin}/sse`, host: config.host, port });
    },
    get port() {
      return port;
    },
    stopAccepting() {
      // Not awaited: a graceful stop would wait for event streams forever.
      void server?.stop(false);
    },
    async stop() {
      await server?.stop(true);
    },
    async reload() {},
  };
}
