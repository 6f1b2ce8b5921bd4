import * as v from "valibot";
import { displayUrl } from "../log/redact.ts";
import { docSetsSchema } from "../docs/doc-sets.ts";
import { count, docsSource, domains, duration, hostPort, hostPorts, hosts, origins, port, size, text, tsigKey, url } from "./schemas.ts";

/**
 * Every setting the server reads, in one table: its environment variable, its
 * command-line flag, its default and what it means. `--help`, the README table
 * and the parser are all generated from this, so they cannot drift apart.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A setting: how to read it from text, and how to describe it to people. */
export interface Setting<T> {
  env: `MCP_${string}`;
  flag: `--${string}`;
  /** Default as the user would type it; `undefined` means "not set". */
  default?: string;
  /** Shown in `--help` when there is no literal default. */
  defaultNote?: string;
  description: string;
  /** Never echoed back, not even in an error message. */
  secret?: boolean;
  /** How a bad value is echoed in an error message, when it may carry a secret (a URL's token). */
  display?: (raw: string) => string;
  /** Turns the text into the typed value, or fails with a message that reads after "MCP_X (--x): ". */
  schema: v.GenericSchema<string, T>;
}


export const settings = {
  host: {
    env: "MCP_HOST",
    flag: "--host",
    default: "::",
    description: "Address to listen on (:: is every IPv4 and IPv6 address).",
    schema: text,
  },
  port: {
    env: "MCP_PORT",
    flag: "--port",
    defaultNote: "8080; 443 with MCP_DOMAINS",
    description: "Port of the MCP server.",
    schema: port,
  },
  domains: {
    env: "MCP_DOMAINS",
    flag: "--domains",
    defaultNote: "none: plain HTTP",
    description: "Comma-separated names to get a Let's Encrypt certificate for and serve HTTPS on; the first is the primary name. Wildcards (*.docs.example.com) need dns-01; IP addresses are ordered as IP identifiers (Let's Encrypt: shortlived profile only).",
    schema: domains,
  },
  acmeEmail: {
    env: "MCP_ACME_EMAIL",
    flag: "--acme-email",
    defaultNote: "none",
    description: "Contact address for the ACME account (expiry warnings from the CA).",
    schema: v.pipe(text, v.email("must be an email address")),
  },
  acmeDirectory: {
    env: "MCP_ACME_DIRECTORY",
    flag: "--acme-directory",
    default: "production",
    description: "ACME CA: 'production' or 'staging' (Let's Encrypt), or the directory URL of any ACME CA.",
    schema: v.pipe(
      text,
      v.check((s) => s === "production" || s === "staging" || (/^https:\/\//i.test(s) && URL.canParse(s)), "must be production, staging or an https directory URL"),
    ),
  },
  acmeProfile: {
    env: "MCP_ACME_PROFILE",
    flag: "--acme-profile",
    defaultNote: "the CA's default",
    description: "ACME certificate profile, where the CA offers profiles (for example shortlived for 6-day certificates).",
    schema: v.pipe(text, v.regex(/^[a-z0-9._-]+$/i, "must be a profile name such as shortlived")),
  },
  acmeEabKid: {
    env: "MCP_ACME_EAB_KID",
    flag: "--acme-eab-kid",
    defaultNote: "none",
    description: "External account binding key id, for CAs that require one (ZeroSSL, Google Trust Services).",
    schema: text,
  },
  acmeEabHmacKey: {
    env: "MCP_ACME_EAB_HMAC_KEY",
    flag: "--acme-eab-hmac-key",
    defaultNote: "none",
    description: "External account binding HMAC key (base64url). A secret: never logged.",
    secret: true,
    schema: v.pipe(text, v.regex(/^[A-Za-z0-9_=-]+$/, "must be base64url")),
  },
  acmePort: {
    env: "MCP_ACME_PORT",
    flag: "--acme-port",
    default: "80",
    description: "Port of the HTTP-01 challenge responder, which also redirects plain HTTP to HTTPS.",
    schema: port,
  },
  acmeListen: {
    env: "MCP_ACME_LISTEN",
    flag: "--acme-listen",
    default: "always",
    description: "When the port-80 listener runs: always (challenges, /healthz, redirects to https), or only while a certificate is being ordered (on-demand).",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(["always", "on-demand"], "must be always or on-demand")),
  },
  acmeChallenge: {
    env: "MCP_ACME_CHALLENGE",
    flag: "--acme-challenge",
    default: "http-01",
    description: "How the CA checks that the names are ours: http-01 (port 80 must be reachable from the internet) or dns-01 (a TXT record, through MCP_DNS_SERVER or MCP_DNS_HOOK; needed for wildcards and closed port 80).",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(["http-01", "dns-01"], "must be http-01 or dns-01")),
  },
  dnsServer: {
    env: "MCP_DNS_SERVER",
    flag: "--dns-server",
    defaultNote: "none",
    description: "DNS-01 over RFC 2136: the primary name server (host or host:port, port 53 by default) that accepts dynamic updates for the zone (BIND, Knot, PowerDNS).",
    schema: hostPort(53),
  },
  dnsTsigKey: {
    env: "MCP_DNS_TSIG_KEY",
    flag: "--dns-tsig-key",
    defaultNote: "none",
    description: "TSIG key that signs the updates to MCP_DNS_SERVER, as [algorithm:]name:base64secret (nsupdate -y's form; hmac-sha256 by default, also hmac-sha384 and hmac-sha512). A secret: never logged.",
    secret: true,
    schema: tsigKey,
  },
  dnsZone: {
    env: "MCP_DNS_ZONE",
    flag: "--dns-zone",
    defaultNote: "found by an SOA lookup",
    description: "Zone that holds the _acme-challenge records, such as docs.example.com, when it cannot be found by asking for the name's SOA.",
    schema: v.pipe(text, v.toLowerCase(), v.transform((s) => s.replace(/\.$/, "")), v.regex(/^([a-z0-9_]([a-z0-9_-]*[a-z0-9])?\.)*[a-z0-9-]+$/, "must be a zone name such as docs.example.com")),
  },
  dnsHook: {
    env: "MCP_DNS_HOOK",
    flag: "--dns-hook",
    defaultNote: "none",
    description: "DNS-01 through any provider's CLI: a command run with present or cleanup as its last argument and MCP_DNS_NAME, MCP_DNS_VALUE and MCP_DNS_DOMAIN in its environment; exit 0 means done (2 minutes at most).",
    schema: text,
  },
  dnsNameservers: {
    env: "MCP_DNS_NAMESERVERS",
    flag: "--dns-nameservers",
    defaultNote: "the zone's NS records",
    description: "Authoritative servers (host[:port], comma-separated) that must all show the TXT record before the CA is asked to validate.",
    schema: hostPorts(53),
  },
  dnsPropagationTimeout: {
    env: "MCP_DNS_PROPAGATION_TIMEOUT",
    flag: "--dns-propagation-timeout",
    default: "2m",
    description: "How long to wait for the TXT record to show at every authoritative server before giving up on the order (it is retried with backoff).",
    schema: v.pipe(duration, v.check((ms) => ms >= 1_000, "must be at least 1s")),
  },
  certsDir: {
    env: "MCP_CERTS_DIR",
    flag: "--certs-dir",
    default: "certs",
    description: "Directory of certificates ({domain}.cert.pem, {domain}.key.pem), ACME accounts and locks.",
    schema: text,
  },
  storage: {
    env: "MCP_STORAGE",
    flag: "--storage",
    default: "file",
    description: "Where certificates, accounts, challenges and locks live: file (MCP_CERTS_DIR) or a redis:// URL shared by several replicas.",
    secret: true,
    schema: v.pipe(
      text,
      v.check((s) => s === "file" || (/^rediss?:\/\//i.test(s) && URL.canParse(s)), "must be file or a redis:// (or rediss://) URL"),
    ),
  },
  storageNamespace: {
    env: "MCP_STORAGE_NAMESPACE",
    flag: "--storage-namespace",
    default: "mcp-server",
    description: "Key prefix in shared storage, one per deployment.",
    schema: v.pipe(text, v.regex(/^[A-Za-z0-9._@-]{1,100}$/, "must be up to 100 letters, digits, dots, dashes, underscores or @")),
  },
  storageEncryptionKey: {
    env: "MCP_STORAGE_ENCRYPTION_KEY",
    flag: "--storage-encryption-key",
    defaultNote: "none",
    description: "Base64 32-byte key: private keys in shared storage are encrypted with AES-256-GCM. Generate with: openssl rand -base64 32",
    secret: true,
    schema: v.pipe(
      text,
      v.check((s) => /^[A-Za-z0-9+/]+=*$/.test(s) && Buffer.from(s, "base64").length === 32, "must be 32 bytes in base64 (openssl rand -base64 32)"),
    ),
  },
  stateless: {
    env: "MCP_STATELESS",
    flag: "--stateless",
    default: "false",
    description: "Serve Streamable HTTP without sessions, so any replica answers any request; the legacy SSE transport is then refused.",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(["true", "false", "1", "0", "yes", "no"], "must be true or false"), v.transform((s) => s === "true" || s === "1" || s === "yes")),
  },
  keyType: {
    env: "MCP_KEY_TYPE",
    flag: "--key-type",
    default: "ecdsa",
    description: "Certificate key: ecdsa (P-256) or rsa (2048 bits). Every certificate gets a fresh key.",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(["ecdsa", "rsa"], "must be ecdsa or rsa")),
  },
  renewRatio: {
    env: "MCP_RENEW_RATIO",
    flag: "--renew-ratio",
    default: "0.33",
    description: "Renew when less than this fraction of the certificate's lifetime is left, unless the CA suggests a window (ARI, RFC 9773).",
    schema: v.pipe(
      v.string(),
      v.regex(/^0?\.\d+$/, "must be a fraction between 0 and 1, such as 0.33"),
      v.transform(Number),
      v.minValue(0.01, "must be at least 0.01"),
      v.maxValue(0.9, "must be at most 0.9"),
    ),
  },
  docsSource: {
    env: "MCP_DOCS_SOURCE",
    flag: "--docs-source",
    default: "embedded",
    description: "Documentation to serve: 'embedded' (this server's guide), a Hugo JSON file, a Markdown folder (also Docusaurus, MkDocs, VitePress), or an http(s) URL: a Hugo JSON index, an llms.txt or llms-full.txt, or a sitemap.xml of a website.",
    schema: docsSource,
    display: displayUrl,
  },
  docsSources: {
    env: "MCP_DOCS_SOURCES",
    flag: "--docs-sources",
    defaultNote: "none: one source, MCP_DOCS_SOURCE",
    description: "Several documentation sets in one server, comma-separated: name[@version]=source, each source as MCP_DOCS_SOURCE takes it, optionally followed by ;refresh=<duration> and ;base-url=<url> (for example hono@4=https://hono.dev/llms-full.txt,fastify@5=./docs;refresh=1h). search then takes source and version, and list_sources lists the sets.",
    schema: docSetsSchema,
    display: (raw: string) => raw.replace(/https?:\/\/[^\s,;]+/gi, (url) => displayUrl(url)),
  },
  docsBaseUrl: {
    env: "MCP_DOCS_BASE_URL",
    flag: "--docs-base-url",
    defaultNote: "the server's own /docs/ pages",
    description: "Public base URL of a Markdown folder's pages (guide/intro.md becomes <base>/guide/intro).",
    schema: url,
  },
  docsTitle: {
    env: "MCP_DOCS_TITLE",
    flag: "--docs-title",
    defaultNote: "from the source",
    description: "Name of the documentation, shown in llms.txt and the MCP server info.",
    schema: text,
  },
  docsRefresh: {
    env: "MCP_DOCS_REFRESH",
    flag: "--docs-refresh",
    default: "15m",
    description: "How often the source is checked for changes (remote: conditional GET; local: modification time); off disables.",
    schema: duration,
  },
  dataDir: {
    env: "MCP_DATA_DIR",
    flag: "--data-dir",
    default: "data",
    description: "Directory for state, such as the last good copy of a remote documentation source.",
    schema: text,
  },
  allowedOrigins: {
    env: "MCP_ALLOWED_ORIGINS",
    flag: "--allowed-origins",
    defaultNote: "localhost origins only",
    description: "Comma-separated browser origins allowed to call the server (DNS-rebinding protection).",
    schema: origins,
  },
  allowedHosts: {
    env: "MCP_ALLOWED_HOSTS",
    flag: "--allowed-hosts",
    defaultNote: "localhost names only",
    description: "Comma-separated extra Host names the server answers to, such as a LAN address or a proxy's name.",
    schema: hosts,
  },
  maxSessions: {
    env: "MCP_MAX_SESSIONS",
    flag: "--max-sessions",
    default: "1000",
    description: "Most open MCP sessions (both transports); when full, the least recently used idle session is closed to make room for a new one.",
    schema: count(1),
  },
  sessionIdle: {
    env: "MCP_SESSION_IDLE",
    flag: "--session-idle",
    default: "30m",
    description: "An MCP session unused for this long is closed.",
    schema: duration,
  },
  maxBody: {
    env: "MCP_MAX_BODY",
    flag: "--max-body",
    default: "1m",
    description: "Largest accepted request body; larger ones get 413.",
    schema: size,
  },
  idleTimeout: {
    env: "MCP_IDLE_TIMEOUT",
    flag: "--idle-timeout",
    default: "15s",
    description: "A connection idle (or a request body stalled) this long is closed; event streams are exempt and send keep-alives.",
    schema: v.pipe(
      duration,
      v.check((ms) => ms >= 1_000 && ms <= 255_000, "must be between 1s and 255s"),
    ),
  },
  maxSessionsPerClient: {
    env: "MCP_MAX_SESSIONS_PER_CLIENT",
    flag: "--max-sessions-per-client",
    default: "50",
    description: "Most open MCP sessions one client may hold; beyond it, 429.",
    schema: count(1),
  },
  maxStreamsPerClient: {
    env: "MCP_MAX_STREAMS_PER_CLIENT",
    flag: "--max-streams-per-client",
    default: "10",
    description: "Most open event streams (GET /mcp, GET /sse, subscriptions/listen) per client; beyond it, 429.",
    schema: count(1),
  },
  maxRequestsPerClient: {
    env: "MCP_MAX_REQUESTS_PER_CLIENT",
    flag: "--max-requests-per-client",
    default: "32",
    description: "Most requests one client may have in flight at once, on every route but /healthz; beyond it, 429.",
    schema: count(1),
  },
  clientIpv6Prefix: {
    env: "MCP_CLIENT_IPV6_PREFIX",
    flag: "--client-ipv6-prefix",
    default: "64",
    description: "IPv6 addresses in one prefix of this length count as one client for the per-client caps (a /64 is one host or household); 128 tells every address apart. IPv4: one address, one client.",
    schema: v.pipe(count(32), v.maxValue(128, "must be at most 128")),
  },
  authToken: {
    env: "MCP_AUTH_TOKEN",
    flag: "--auth-token",
    defaultNote: "none: open",
    description: "Bearer token required for MCP and the documentation (not /healthz): at least 16 characters of letters, digits and - . _ ~ + /. ChatGPT connectors cannot send one: it locks ChatGPT out.",
    secret: true,
    schema: v.pipe(text, v.minLength(16, "must be at least 16 characters"), v.regex(/^[A-Za-z0-9._~+/-]+=*$/, "must be letters, digits and - . _ ~ + / (RFC 6750), optionally ending in =")),
  },
  insights: {
    env: "MCP_INSIGHTS",
    flag: "--insights",
    default: "on",
    description: "What assistants ask, for the docs' owners: counts of searches and of searches that found nothing, and the top queries of the last 24 hours (only those asked by at least 3 clients; never addresses), on the status page and in /metrics. off keeps nothing.",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(["on", "off"], "must be on or off")),
  },
  metrics: {
    env: "MCP_METRICS",
    flag: "--metrics",
    default: "public",
    description: "GET /metrics: public, private (needs MCP_AUTH_TOKEN), or off.",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(["public", "private", "off"], "must be public, private or off")),
  },
  logLevel: {
    env: "MCP_LOG_LEVEL",
    flag: "--log-level",
    default: "info",
    description: "Least severe log level written: debug, info, warn or error.",
    schema: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.picklist(LOG_LEVELS, "must be one of debug, info, warn, error")),
  },
} satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof settings;
