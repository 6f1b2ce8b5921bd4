import type { HostPort, TsigKey } from "../config/schemas.ts";
import type { Logger } from "../log/index.ts";
import type { Storage } from "../storage/storage.ts";
import { dns01Solver } from "./dns/dns01-solver.ts";
import { hookPublisher } from "./dns/hook-solver.ts";
import { propagationCheck } from "./dns/propagation.ts";
import { rfc2136Publisher } from "./dns/rfc2136.ts";
import { http01Solver, type ChallengeSolver } from "./solvers.ts";

/** How the CA is to check that the names are ours: the challenge part of the configuration. */
export type ChallengeSettings =
  | { type: "http-01" }
  | {
      type: "dns-01";
      /** RFC 2136: the primary that takes updates, and the key that signs them. */
      server?: HostPort;
      key?: TsigKey;
      /** Or a command run with `present` / `cleanup`. */
      hook?: string;
      zone?: string;
      /** The servers that must show the record; default: the zone's NS records. */
      nameservers?: HostPort[];
      propagationTimeoutMs?: number;
      /** How often the record is looked for (tests: faster). */
      pollMs?: number;
    };

export interface SolverContext {
  storage: Storage;
  /** The port-80 responder's port, for HTTP-01's loopback check. */
  acmePort: number;
  logger: Logger;
}

/**
 * The solvers an order uses, from the settings: HTTP-01 through the port-80
 * responder, or DNS-01 through RFC 2136 or a hook, checked at the zone's
 * authoritative servers. With RFC 2136 and no MCP_DNS_NAMESERVERS, the
 * zone's NS records say where to look (the update server is asked first
 * for the zone, since it is authoritative for it).
 */
export function challengeSolvers(settings: ChallengeSettings, context: SolverContext): ChallengeSolver[] {
  const { logger } = context;
  if (settings.type === "http-01") return [http01Solver({ storage: context.storage, port: context.acmePort, logger })];
  const publisher = settings.server
    ? rfc2136Publisher({ server: settings.server, key: settings.key, zone: settings.zone })
    : hookPublisher({ command: settings.hook!, zone: settings.zone, logger });
  const propagation = propagationCheck({
    nameservers: settings.nameservers,
    resolvers: settings.server ? [settings.server] : undefined,
    zone: settings.zone,
    timeoutMs: settings.propagationTimeoutMs,
    pollMs: settings.pollMs,
    logger,
  });
  return [dns01Solver({ publisher, propagation, logger })];
}
