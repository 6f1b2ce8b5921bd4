import type { Config } from "../config/index.ts";
import type { HostGuardOptions } from "../http/host-guard/index.ts";

/** Listen addresses that say nothing about the name clients use. */
const WILDCARD_OR_LOOPBACK = ["::", "0.0.0.0", "localhost", "127.0.0.1", "::1"];

/**
 * The DNS-rebinding policy: the Host names and browser origins the server
 * answers. Our domains, the extra names (`MCP_ALLOWED_HOSTS`), and a
 * specific listen address, which clients may use as a name too; loopback
 * names always, for local tools.
 */
export function hostPolicy(config: Pick<Config, "host" | "allowedHosts" | "allowedOrigins">, domains: readonly string[]): HostGuardOptions {
  const bindsEverywhere = WILDCARD_OR_LOOPBACK.includes(config.host);
  return {
    // A wildcard certificate's names are not all ours to answer: only those named (MCP_ALLOWED_HOSTS) are.
    allowedHosts: [...domains.filter((name) => !name.startsWith("*.")), ...(config.allowedHosts ?? []), ...(bindsEverywhere ? [] : [config.host])],
    allowedOrigins: config.allowedOrigins ?? [],
    allowLoopback: true,
  };
}
