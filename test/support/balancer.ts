import type { Socket } from "bun";

/**
 * A TCP round-robin load balancer on loopback, as a real one would sit in
 * front of several replicas' port 80: each new connection goes to the next
 * backend in turn. It records which backend served each connection.
 */
export interface Balancer {
  port: number;
  /** Backend port of every connection so far, in order. */
  readonly served: number[];
  stop(): void;
}

interface Pair {
  upstream?: Socket<undefined>;
  pending: Uint8Array[];
}

export function startBalancer(backends: number[], port = 0): Balancer {
  let next = 0;
  const served: number[] = [];
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(client) {
        const backend = backends[next++ % backends.length]!;
        served.push(backend);
        client.data = { pending: [] };
        void Bun.connect({
          hostname: "127.0.0.1",
          port: backend,
          socket: {
            open(upstream) {
              client.data.upstream = upstream;
              for (const chunk of client.data.pending.splice(0)) upstream.write(chunk);
            },
            data(_, chunk) {
              client.write(chunk);
            },
            close() {
              client.end();
            },
            error() {
              client.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, chunk) {
        if (client.data.upstream) client.data.upstream.write(chunk);
        else client.data.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data.upstream?.end();
      },
    },
  });
  return { port: server.port, served, stop: () => server.stop(true) };
}
