import { isIP } from "node:net";
import * as v from "valibot";
import { parseDuration, parseSize } from "./units.ts";

/**
 * The value types settings are made of (text, ports, durations, lists of
 * names), each a schema that turns the text into the value or fails with a
 * message that reads after "MCP_X (--x): ".
 */

export const text = v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"));

export const port = v.pipe(
  v.string(),
  v.regex(/^\d{1,5}$/, "must be a port number (0-65535)"),
  v.transform(Number),
  v.maxValue(65535, "must be a port number (0-65535)"),
);

export const count = (min: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, "must be a whole number"),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
  );

export const duration = v.pipe(
  v.string(),
  v.check((s) => parseDuration(s) !== undefined, "must be a duration such as 90s, 15m, 2h, 1d, or off"),
  v.transform((s) => parseDuration(s)!),
);

export const size = v.pipe(
  v.string(),
  v.check((s) => (parseSize(s) ?? 0) > 0, "must be a size in bytes such as 1048576, 512k or 1m"),
  v.transform((s) => parseSize(s)!),
);

export const list = v.pipe(
  v.string(),
  v.transform((s) =>
    s
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);

export const origins = v.pipe(
  list,
  v.check(
    (items) => items.every((item) => item === "*" || URL.canParse(item)),
    "must be a comma-separated list of origins such as https://chatgpt.com",
  ),
  // Browsers send the origin in its serialized form (no path, lowercase host),
  // so store it the same way for an exact comparison later.
  v.transform((items) => items.map((item) => (item === "*" ? item : new URL(item).origin))),
);

export const hosts = v.pipe(
  list,
  v.check(
    (items) => items.every((item) => /^[a-z0-9.\-:[\]]+$/i.test(item)),
    "must be a comma-separated list of host names or addresses",
  ),
  v.transform((items) => items.map((item) => item.toLowerCase())),
);

/** A DNS name, optionally a wildcard (`*.docs.example.com`), lowercase and without the final dot. */
const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/**
 * An IP address in its canonical text form (IPv6 compressed, lowercase,
 * without brackets), the form certificates are compared in; `undefined`
 * when `value` is not an IP address.
 */
export function canonicalIp(value: string): string | undefined {
  const bare = value.replace(/^\[|\]$/g, "");
  if (isIP(bare) === 4) return bare;
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return undefined;
}

/** Whether `name` is a wildcard (`*.docs.example.com`): only DNS-01 can validate one. */
export const isWildcard = (name: string): boolean => name.startsWith("*.");

/**
 * Names to get a certificate for: DNS names, wildcards (`*.docs.example.com`)
 * and IP addresses (ordered as `ip` identifiers, RFC 8738). Which of them
 * the challenge type can validate is checked with the other settings.
 */
export const domains = v.pipe(
  list,
  v.check((items) => items.length > 0, "must name at least one domain"),
  v.transform((items) => items.map((item) => canonicalIp(item) ?? item.toLowerCase().replace(/\.$/, ""))),
  v.check(
    (items) => items.every((item) => isIP(item) !== 0 || DNS_NAME.test(item)),
    "must be a comma-separated list of domain names such as docs.example.com (*.docs.example.com with dns-01, or an IP address)",
  ),
  v.check((items) => !isWildcard(items[0]!), "the first name is the server's own name and must not be a wildcard; list the wildcard after it"),
);

/** `host` or `host:port` (`[v6]:port`), with a default port. */
export const hostPort = (defaultPort: number) =>
  v.pipe(
    text,
    v.check((s) => parseHostPort(s, defaultPort) !== undefined, "must be host or host:port, such as ns1.example.com:53 or [2001:db8::1]:53"),
    v.transform((s) => parseHostPort(s, defaultPort)!),
  );

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 address is a host. */
export function parseHostPort(value: string, defaultPort: number): HostPort | undefined {
  const match = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value) ?? (isIP(value) === 6 ? [value, value] : /^([^:\s]+)(?::(\d{1,5}))?$/.exec(value));
  if (!match) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = match[1]!.toLowerCase();
  return isIP(host) || DNS_NAME.test(host.replace(/\.$/, "")) || host === "localhost" ? { host, port } : undefined;
}

/** A comma-separated list of `host[:port]`. */
export const hostPorts = (defaultPort: number) =>
  v.pipe(
    list,
    v.check((items) => items.length > 0 && items.every((item) => parseHostPort(item, defaultPort) !== undefined), "must be a comma-separated list of host or host:port"),
    v.transform((items) => items.map((item) => parseHostPort(item, defaultPort)!)),
  );

export const docsSource = v.pipe(
  text,
  v.check(
    (s) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^https?:\/\//i.test(s),
    "must be 'embedded', a local path, or an http(s) URL",
  ),
);

export const url = v.pipe(
  text,
  v.check((s) => /^https?:\/\//i.test(s) && URL.canParse(s), "must be an http(s) URL"),
);
/** TSIG algorithms (RFC 8945) the RFC 2136 client signs with. */
export const TSIG_ALGORITHMS = ["hmac-sha256", "hmac-sha384", "hmac-sha512"] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

/** A TSIG key: its name, algorithm and secret (the secret is never logged). */
export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/**
 * `[algorithm:]name:secret`, the form of `nsupdate -y`, with the base64
 * secret `tsig-keygen` prints; the algorithm defaults to hmac-sha256. The
 * messages never include the value: it is a secret.
 */
export const tsigKey = v.pipe(
  text,
  v.check((s) => parseTsigKey(s) !== undefined, `must be [algorithm:]name:base64secret, such as hmac-sha256:mcp-server:<secret from tsig-keygen>; algorithms: ${TSIG_ALGORITHMS.join(", ")}`),
  v.transform((s) => parseTsigKey(s)!),
);

function parseTsigKey(value: string): TsigKey | undefined {
  const parts = value.split(":");
  if (parts.length < 2 || parts.length > 3) return undefined;
  const [algorithm, name, secret] = parts.length === 3 ? parts : ["hmac-sha256", ...parts];
  const normalized = algorithm!.toLowerCase() as TsigAlgorithm;
  if (!TSIG_ALGORITHMS.includes(normalized)) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret!) || Buffer.from(secret!, "base64").length < 16) return undefined;
  const keyName = name!.toLowerCase().replace(/\.$/, "");
  if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(keyName)) return undefined;
  return { name: keyName, algorithm: normalized, secret: Buffer.from(secret!, "base64") };
}
