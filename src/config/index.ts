import * as v from "valibot";
import { challengeMismatch } from "./challenge.ts";
import { settings, type Setting, type SettingName } from "./settings.ts";

export { LOG_LEVELS, type LogLevel } from "./settings.ts";

type Parsed<S> = S extends Setting<infer T> ? T : never;
type SettingValues = { [K in SettingName]: Parsed<(typeof settings)[K]> };
type Optional = {
  [K in SettingName]: (typeof settings)[K] extends { default: string } ? never : K;
}[SettingName];

/**
 * Validated settings. Settings without a default are `undefined` when not
 * given, except `port`, whose default depends on whether TLS is on.
 */
export type Config = Omit<SettingValues, Optional> & Partial<Pick<SettingValues, Optional>> & { port: number };

/** What the command line asked for besides settings. */
export type Command = { kind: "serve"; config: Config } | { kind: "help" } | { kind: "version" };

/**
 * A mistake in the user's settings. Its message is one line that names the
 * setting and says what is wrong; `main` prints it and exits with status 2.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const byFlag = new Map<string, SettingName>(Object.entries(settings).map(([name, s]) => [s.flag, name as SettingName]));

/**
 * Reads settings from environment variables and command-line flags; flags
 * win. `--flag value` and `--flag=value` both work.
 *
 * @throws ConfigError naming the first bad or unknown setting.
 * @example
 * const command = parseCommand(Bun.argv.slice(2), process.env);
 * if (command.kind === "serve") start(command.config);
 */
export function parseCommand(argv: readonly string[], env: Record<string, string | undefined>): Command {
  const fromFlags = new Map<SettingName, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return { kind: "help" };
    if (arg === "--version" || arg === "-v") return { kind: "version" };
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const name = byFlag.get(flag);
    if (!name) throw new ConfigError(`unknown argument ${JSON.stringify(arg)}; run with --help to see every setting`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    fromFlags.set(name, value);
  }

  const config: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings) as [SettingName, Setting<unknown>][]) {
    const given = fromFlags.get(name) ?? env[setting.env];
    const raw = given === undefined || given === "" ? setting.default : given;
    if (raw === undefined) continue;
    const result = v.safeParse(setting.schema, raw);
    if (!result.success) {
      const origin = fromFlags.has(name) ? setting.flag : setting.env;
      const got = setting.secret ? "" : ` (got ${JSON.stringify(setting.display ? setting.display(raw) : raw)})`;
      throw new ConfigError(`${origin}: ${result.issues[0].message}${got}`);
    }
    config[name] = result.output;
  }
  config.port ??= config.domains ? 443 : 8080;
  if (config.acmeEabKid !== undefined && config.acmeEabHmacKey === undefined) {
    throw new ConfigError("MCP_ACME_EAB_HMAC_KEY: must be set together with MCP_ACME_EAB_KID");
  }
  if (config.acmeEabHmacKey !== undefined && config.acmeEabKid === undefined) {
    throw new ConfigError("MCP_ACME_EAB_KID: must be set together with MCP_ACME_EAB_HMAC_KEY");
  }
  if (config.docsSources !== undefined && (fromFlags.has("docsSource") || (env.MCP_DOCS_SOURCE ?? "") !== "")) {
    throw new ConfigError("MCP_DOCS_SOURCES: set either MCP_DOCS_SOURCE (one source) or MCP_DOCS_SOURCES (named sets), not both");
  }
  if (config.metrics === "private" && config.authToken === undefined) {
    throw new ConfigError("MCP_METRICS: private needs MCP_AUTH_TOKEN to be set");
  }
  const mismatch = config.domains ? challengeMismatch(config) : undefined;
  if (mismatch) throw new ConfigError(mismatch);
  if (config.domains && config.port === config.acmePort) {
    throw new ConfigError(`MCP_PORT: must differ from MCP_ACME_PORT (${config.acmePort}), which answers ACME challenges`);
  }
  return { kind: "serve", config: config as Config };
}

/** The `--help` text: every setting with its flag, environment variable and default. */
export function helpText(version: string): string {
  const lines = [
    `mcp-server ${version}: serves documentation to AI assistants over the Model Context Protocol.`,
    "",
    "Usage: mcp-server [--flag value ...]",
    "Every setting can also be given as an environment variable; flags win.",
    "",
  ];
  for (const setting of Object.values(settings) as Setting<unknown>[]) {
    const fallback = setting.default !== undefined ? setting.default : (setting.defaultNote ?? "not set");
    lines.push(`  ${setting.flag.padEnd(20)} ${setting.env}`);
    lines.push(`      ${setting.description}`);
    lines.push(`      Default: ${fallback}`);
  }
  lines.push("  --help, -h           Print this help.", "  --version, -v        Print the version.");
  return lines.join("\n");
}
