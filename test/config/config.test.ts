import { describe, expect, test } from "bun:test";
import { ConfigError, helpText, parseCommand } from "../../src/config/index.ts";
import { settings } from "../../src/config/settings.ts";
import { parseDuration, parseSize } from "../../src/config/units.ts";

const serve = (argv: string[], env: Record<string, string> = {}) => {
  const command = parseCommand(argv, env);
  if (command.kind !== "serve") throw new Error("expected serve");
  return command.config;
};

describe("parseCommand", () => {
  test("defaults need no settings", () => {
    expect(serve([])).toMatchObject({ host: "::", port: 8080, docsSource: "embedded", docsRefresh: 900_000, dataDir: "data", logLevel: "info", maxBody: 1024 * 1024 });
    expect(serve([]).docsBaseUrl).toBeUndefined();
  });

  test("environment variables are read, flags win, both flag spellings work", () => {
    expect(serve([], { MCP_PORT: "9000" }).port).toBe(9000);
    expect(serve(["--port", "9001"], { MCP_PORT: "9000" }).port).toBe(9001);
    expect(serve(["--port=9002"], { MCP_PORT: "9000" }).port).toBe(9002);
  });

  test("lists, durations and sizes are parsed", () => {
    const config = serve([], {
      MCP_ALLOWED_ORIGINS: "https://chatgpt.com/, https://claude.ai",
      MCP_ALLOWED_HOSTS: "Docs.Example.com,10.0.0.5",
      MCP_DOCS_REFRESH: "off",
      MCP_MAX_BODY: "512k",
      MCP_LOG_LEVEL: "DEBUG",
    });
    expect(config.allowedOrigins).toEqual(["https://chatgpt.com", "https://claude.ai"]);
    expect(config.allowedHosts).toEqual(["docs.example.com", "10.0.0.5"]);
    expect(config.docsRefresh).toBe(0);
    expect(config.maxBody).toBe(512 * 1024);
    expect(config.logLevel).toBe("debug");
  });

  test.each([
    [["--port", "http"], {}, "--port: must be a port number (0-65535) (got \"http\")"],
    [[], { MCP_PORT: "70000" }, "MCP_PORT: must be a port number (0-65535) (got \"70000\")"],
    [[], { MCP_DOCS_REFRESH: "soon" }, "MCP_DOCS_REFRESH: must be a duration"],
    [[], { MCP_LOG_LEVEL: "loud" }, "MCP_LOG_LEVEL: must be one of debug, info, warn, error"],
    [[], { MCP_DOCS_BASE_URL: "docs.example.com" }, "MCP_DOCS_BASE_URL: must be an http(s) URL"],
    [[], { MCP_DOCS_SOURCE: "ftp://example.com/index.json" }, "MCP_DOCS_SOURCE: must be 'embedded', a local path, or an http(s) URL"],
    [[], { MCP_ALLOWED_ORIGINS: "chatgpt" }, "MCP_ALLOWED_ORIGINS: must be a comma-separated list of origins"],
    [[], { MCP_MAX_SESSIONS: "0" }, "MCP_MAX_SESSIONS: must be at least 1"],
    [["--nope"], {}, "unknown argument \"--nope\""],
    [["--port"], {}, "--port needs a value"],
  ] as [string[], Record<string, string>, string][])("bad input %p %p names the setting in one line", (argv, env, message) => {
    let error: unknown;
    try {
      parseCommand(argv, env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain("\n");
  });

  test("--help and --version are commands", () => {
    expect(parseCommand(["--help"], {}).kind).toBe("help");
    expect(parseCommand(["--version"], { MCP_PORT: "bad" }).kind).toBe("version");
  });

  test("help lists every setting with its variable and default", () => {
    const help = helpText("1.2.3");
    for (const setting of Object.values(settings)) {
      expect(help).toContain(setting.env);
      expect(help).toContain(setting.flag);
    }
    expect(help).toContain("Default: 8080; 443 with MCP_DOMAINS");
  });
});

describe("units", () => {
  test("durations", () => {
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1d")).toBe(86_400_000);
    expect(parseDuration("30")).toBe(30_000);
    expect(parseDuration("off")).toBe(0);
    expect(parseDuration("15 minutes")).toBeUndefined();
  });
  test("sizes", () => {
    expect(parseSize("1m")).toBe(1_048_576);
    expect(parseSize("1MiB")).toBe(1_048_576);
    expect(parseSize("512k")).toBe(524_288);
    expect(parseSize("100")).toBe(100);
    expect(parseSize("lots")).toBeUndefined();
  });
});

describe("TLS settings", () => {
  test("domains switch the default port to 443 and are normalized", () => {
    const config = serve([], { MCP_DOMAINS: "Docs.Example.com., api.example.com" });
    expect(config.domains).toEqual(["docs.example.com", "api.example.com"]);
    expect(config.port).toBe(443);
    expect(config).toMatchObject({ acmePort: 80, acmeDirectory: "production", certsDir: "certs", keyType: "ecdsa", renewRatio: 0.33, acmeListen: "always" });
    expect(serve([]).port).toBe(8080);
  });

  test.each([
    [{ MCP_DOMAINS: "*.example.com" }, "MCP_DOMAINS: the first name is the server's own name and must not be a wildcard"],
    [{ MCP_DOMAINS: "a.*.example.com" }, "MCP_DOMAINS: must be a comma-separated list of domain names"],
    [{ MCP_DOMAINS: "localhost" }, "MCP_DOMAINS: must be a comma-separated list of domain names"],
    [{ MCP_ACME_DIRECTORY: "http://ca.example/dir" }, "MCP_ACME_DIRECTORY: must be production, staging or an https directory URL"],
    [{ MCP_ACME_EMAIL: "nobody" }, "MCP_ACME_EMAIL: must be an email address"],
    [{ MCP_KEY_TYPE: "dsa" }, "MCP_KEY_TYPE: must be ecdsa or rsa"],
    [{ MCP_RENEW_RATIO: "2" }, "MCP_RENEW_RATIO: must be a fraction"],
    [{ MCP_ACME_EAB_KID: "kid" }, "MCP_ACME_EAB_HMAC_KEY: must be set together with MCP_ACME_EAB_KID"],
    [{ MCP_DOMAINS: "docs.example.com", MCP_PORT: "80" }, "MCP_PORT: must differ from MCP_ACME_PORT"],
  ])("bad TLS setting %p is one clear line", (env, message) => {
    expect(() => parseCommand([], env)).toThrow(message);
  });

  test("a bad secret is never echoed back", () => {
    expect(() => parseCommand([], { MCP_ACME_EAB_KID: "kid", MCP_ACME_EAB_HMAC_KEY: "s3cr3t value!" })).toThrow(/^MCP_ACME_EAB_HMAC_KEY: must be base64url$/);
  });
});

describe("challenge settings", () => {
  const secret = Buffer.alloc(32, 7).toString("base64");

  test("DNS-01 over RFC 2136: server with a default port, a TSIG key in nsupdate -y's form, wildcards allowed", () => {
    const config = serve([], {
      MCP_DOMAINS: "docs.example.com,*.docs.example.com",
      MCP_ACME_CHALLENGE: "DNS-01",
      MCP_DNS_SERVER: "ns1.example.com",
      MCP_DNS_TSIG_KEY: `hmac-sha512:MCP-Key.:${secret}`,
      MCP_DNS_NAMESERVERS: "192.0.2.1, [2001:db8::1]:5353",
    });
    expect(config.domains).toEqual(["docs.example.com", "*.docs.example.com"]);
    expect(config.acmeChallenge).toBe("dns-01");
    expect(config.dnsServer).toEqual({ host: "ns1.example.com", port: 53 });
    expect(config.dnsTsigKey).toEqual({ name: "mcp-key", algorithm: "hmac-sha512", secret: Buffer.alloc(32, 7) });
    expect(config.dnsNameservers).toEqual([{ host: "192.0.2.1", port: 53 }, { host: "2001:db8::1", port: 5353 }]);
    expect(config.dnsPropagationTimeout).toBe(120_000);
    // The algorithm defaults to hmac-sha256.
    expect(serve([], { MCP_DOMAINS: "docs.example.com", MCP_ACME_CHALLENGE: "dns-01", MCP_DNS_SERVER: "127.0.0.1:5300", MCP_DNS_TSIG_KEY: `k:${secret}` }).dnsTsigKey).toMatchObject({ name: "k", algorithm: "hmac-sha256" });
  });

  test("an IP address is a name like any other with HTTP-01", () => {
    expect(serve([], { MCP_DOMAINS: "192.0.2.7,[2001:DB8::7]" }).domains).toEqual(["192.0.2.7", "2001:db8::7"]);
  });

  test.each([
    [{ MCP_DOMAINS: "docs.example.com,*.docs.example.com" }, "MCP_DOMAINS: *.docs.example.com is a wildcard, which only DNS-01 can validate: set MCP_ACME_CHALLENGE=dns-01"],
    [{ MCP_DOMAINS: "192.0.2.7", MCP_ACME_CHALLENGE: "dns-01", MCP_DNS_HOOK: "/bin/true" }, "MCP_DOMAINS: 192.0.2.7 is an IP address, which the CA validates over HTTP-01 only"],
    [{ MCP_DOMAINS: "docs.example.com", MCP_ACME_CHALLENGE: "dns-01" }, "MCP_ACME_CHALLENGE: dns-01 needs MCP_DNS_SERVER (RFC 2136 dynamic update) or MCP_DNS_HOOK (a command)"],
    [{ MCP_DOMAINS: "docs.example.com", MCP_ACME_CHALLENGE: "dns-01", MCP_DNS_SERVER: "ns1.example.com", MCP_DNS_HOOK: "/bin/true" }, "MCP_DNS_HOOK: set either MCP_DNS_SERVER (RFC 2136) or MCP_DNS_HOOK, not both"],
    [{ MCP_DOMAINS: "docs.example.com", MCP_ACME_CHALLENGE: "dns-01", MCP_DNS_HOOK: "/bin/true", MCP_DNS_TSIG_KEY: `k:${secret}` }, "MCP_DNS_TSIG_KEY: needs MCP_DNS_SERVER"],
    [{ MCP_DOMAINS: "docs.example.com", MCP_DNS_SERVER: "ns1.example.com" }, "MCP_ACME_CHALLENGE: is http-01, so MCP_DNS_SERVER has no effect"],
    [{ MCP_ACME_CHALLENGE: "tls-alpn-01" }, "MCP_ACME_CHALLENGE: must be http-01 or dns-01"],
    [{ MCP_DNS_SERVER: "ns1.example.com:99999" }, "MCP_DNS_SERVER: must be host or host:port"],
    [{ MCP_DNS_NAMESERVERS: "ns1.example.com,bad host" }, "MCP_DNS_NAMESERVERS: must be a comma-separated list of host or host:port"],
    [{ MCP_DNS_PROPAGATION_TIMEOUT: "10ms" }, "MCP_DNS_PROPAGATION_TIMEOUT: must be at least 1s"],
    [{ MCP_DNS_ZONE: "not a zone" }, "MCP_DNS_ZONE: must be a zone name"],
  ])("%p is one clear line", (env, message) => {
    expect(() => parseCommand([], env)).toThrow(message);
  });

  test("a bad TSIG key is refused without echoing the secret", () => {
    for (const value of [`hmac-md5:k:${secret}`, "k:not base64!", "k:c2hvcnQ=", `a:b:c:${secret}`]) {
      let message = "";
      try {
        parseCommand([], { MCP_DNS_TSIG_KEY: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toStartWith("MCP_DNS_TSIG_KEY: must be [algorithm:]name:base64secret");
      expect(message).not.toContain(value.split(":").pop()!);
    }
  });
});
