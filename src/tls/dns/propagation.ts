import type { Logger } from "../../log/index.ts";
import { findZone, nameServers, systemResolvers, txtValues } from "./lookup.ts";
import type { TxtRecord } from "./publisher.ts";
import { formatServer, type HostPort } from "./transport.ts";

export interface PropagationOptions {
  /** The servers to check; otherwise the zone's NS records, found through `resolvers`. */
  nameservers?: readonly HostPort[];
  /** Where the zone and its NS records are looked up (default: the machine's resolvers). */
  resolvers?: readonly HostPort[];
  /** The zone, when known; otherwise found by an SOA lookup. */
  zone?: string;
  /** How long to wait in all (default 2 minutes). */
  timeoutMs?: number;
  /** How often to ask again (default 2 s). */
  pollMs?: number;
  /** The port of NS records' addresses (53; tests run name servers elsewhere). */
  nameserverPort?: number;
  logger: Logger;
}

/**
 * Waits until a TXT record is visible at every authoritative server of its
 * zone, asked directly and without recursion, so that no resolver's cache
 * says "not yet" (or "already") in their stead. The CA may ask any of them:
 * a record that has reached the primary but not a secondary fails the
 * validation, and a failed validation costs more than a wait here.
 *
 * @throws Error in one line naming the record, the value and each server
 * that did not show it (and why), once `timeoutMs` has passed.
 */
export function propagationCheck(options: PropagationOptions): { wait(record: TxtRecord): Promise<void> } {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const pollMs = options.pollMs ?? 2_000;
  const servers = async (name: string): Promise<readonly HostPort[]> => {
    if (options.nameservers?.length) return options.nameservers;
    const resolvers = options.resolvers?.length ? options.resolvers : systemResolvers();
    const zone = options.zone ?? (await findZone(name, resolvers));
    const found = await nameServers(zone, resolvers);
    return options.nameserverPort ? found.map((server) => ({ ...server, port: options.nameserverPort! })) : found;
  };
  return {
    async wait(record) {
      const deadline = Date.now() + timeoutMs;
      const targets = await servers(record.name);
      const missing = new Map<string, string>(targets.map((server) => [formatServer(server), "not asked yet"]));
      for (;;) {
        await Promise.all(
          targets.map(async (server) => {
            const key = formatServer(server);
            if (!missing.has(key)) return;
            try {
              const values = await txtValues(server, record.name);
              if (values.includes(record.value)) missing.delete(key);
              else missing.set(key, values.length ? `other values only (${values.length})` : "no such record yet");
            } catch (error) {
              missing.set(key, (error as Error).message);
            }
          }),
        );
        if (missing.size === 0) {
          options.logger.info("TXT record visible at every authoritative server; asking the CA to validate", { name: record.name, servers: targets.map(formatServer).join(",") });
          return;
        }
        if (Date.now() + pollMs > deadline) {
          const where = [...missing].map(([server, why]) => `${server}: ${why}`).join("; ");
          throw new Error(`the TXT record ${record.name} = "${record.value}" did not show at every authoritative server within ${Math.round(timeoutMs / 1000)} s (${where}); check the zone's transfers, or raise MCP_DNS_PROPAGATION_TIMEOUT`);
        }
        await Bun.sleep(pollMs);
      }
    },
  };
}
