import { isIP } from "node:net";
import { isWildcard } from "./schemas.ts";

/** The settings the challenge type depends on, as parsed. */
interface ChallengeSettings {
  domains?: string[];
  acmeChallenge?: string;
  dnsServer?: unknown;
  dnsTsigKey?: unknown;
  dnsHook?: string;
  dnsZone?: string;
  dnsNameservers?: unknown;
}

/**
 * Which challenge settings go together, as one line naming the setting to
 * change, or `undefined` when they fit: DNS-01 needs exactly one way to
 * publish the record (RFC 2136 or a hook), wildcards need DNS-01, and IP
 * addresses cannot be validated by DNS-01 (RFC 8738 allows HTTP-01 and
 * TLS-ALPN-01 only).
 */
export function challengeMismatch(config: ChallengeSettings): string | undefined {
  const dns = config.acmeChallenge === "dns-01";
  const wildcard = config.domains?.find(isWildcard);
  if (wildcard && !dns) return `MCP_DOMAINS: ${wildcard} is a wildcard, which only DNS-01 can validate: set MCP_ACME_CHALLENGE=dns-01`;
  const address = config.domains?.find((name) => isIP(name) !== 0);
  if (address && dns) return `MCP_DOMAINS: ${address} is an IP address, which the CA validates over HTTP-01 only: use MCP_ACME_CHALLENGE=http-01`;
  if (config.dnsTsigKey !== undefined && config.dnsServer === undefined) return "MCP_DNS_TSIG_KEY: needs MCP_DNS_SERVER, the server the signed updates go to";
  if (config.dnsServer !== undefined && config.dnsHook !== undefined) return "MCP_DNS_HOOK: set either MCP_DNS_SERVER (RFC 2136) or MCP_DNS_HOOK, not both";
  if (!dns) {
    const stray = (["dnsServer", "dnsHook", "dnsZone", "dnsNameservers"] as const).find((name) => config[name] !== undefined);
    if (stray) return `MCP_ACME_CHALLENGE: is http-01, so ${SETTING_NAMES[stray]} has no effect; set MCP_ACME_CHALLENGE=dns-01 or remove it`;
    return undefined;
  }
  if (config.dnsServer === undefined && config.dnsHook === undefined) return "MCP_ACME_CHALLENGE: dns-01 needs MCP_DNS_SERVER (RFC 2136 dynamic update) or MCP_DNS_HOOK (a command)";
  return undefined;
}

const SETTING_NAMES = { dnsServer: "MCP_DNS_SERVER", dnsHook: "MCP_DNS_HOOK", dnsZone: "MCP_DNS_ZONE", dnsNameservers: "MCP_DNS_NAMESERVERS" } as const;
