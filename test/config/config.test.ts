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
    [{ MCP_DOMAINS: "*.example.com" }, "MCP_DOMAINS: must be a comma-separated list of domain names"],
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
