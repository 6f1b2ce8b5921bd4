/**
 * A real authoritative DNS server for DNS-01 tests: BIND 9 (Debian package
 * `bind9`, binary `named`) in the foreground on a free loopback port, with
 * one zone that accepts RFC 2136 updates signed by the TSIG keys made here,
 * and no recursion. `nsupdate` and `dig` (Debian `bind9-dnsutils`) come
 * along: the hook-solver test drives nsupdate, and `txt()` reads the zone
 * with dig, independently of the code under test.
 *
 * Contract: `startBind()` returns once the zone answers its SOA over UDP.
 * The zone is `docs.example.test.` with `ns1` and the apex at 127.0.0.1.
 * The child dies with `stop()`, on process exit, and (via `setpriv
 * --pdeathsig`) when the test runner is SIGKILLed; the temp dir (config,
 * zone, journal) goes with it (test/support/cleanup.ts).
 */
import { spawn, type Subprocess } from "bun";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installExitHook, liveChildren, liveDirs } from "./cleanup.ts";
import { ensureCommands, findCommand } from "./debian.ts";
import { freePort } from "./pebble.ts";

/** A TSIG key as BIND and nsupdate know it: `${algorithm}:${name}:${secret}` is MCP_DNS_TSIG_KEY's form. */
export interface TestKey {
  name: string;
  algorithm: "hmac-sha256" | "hmac-sha512";
  /** base64 */
  secret: string;
  /** The MCP_DNS_TSIG_KEY value. */
  setting: string;
}

export interface Bind {
  /** UDP and TCP port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:<port>`, the MCP_DNS_SERVER / MCP_DNS_NAMESERVERS value. */
  readonly address: string;
  /** `docs.example.test` */
  readonly zone: string;
  /** Keys allowed to update the zone. */
  readonly keys: { sha256: TestKey; sha512: TestKey };
  /** The TXT values at `name` now, read with dig. */
  txt(name: string): Promise<string[]>;
  /** What named printed so far. */
  logs(): string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function ensureBindInstalled(): Promise<void> {
  return ensureCommands(
    [
      ["named", "bind9"],
      ["nsupdate", "bind9-dnsutils"],
      ["dig", "bind9-dnsutils"],
    ],
    "DNS-01 tests",
  );
}

const ZONE = "docs.example.test";

const key = (name: string, algorithm: TestKey["algorithm"]): TestKey => {
  const secret = randomBytes(32).toString("base64");
  return { name, algorithm, secret, setting: `${algorithm}:${name}:${secret}` };
};

export async function startBind(): Promise<Bind> {
  await ensureBindInstalled();
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), "bind-"));
  liveDirs.add(dir);
  const keys = { sha256: key("mcp-test-256", "hmac-sha256"), sha512: key("mcp-test-512", "hmac-sha512") };
  const zoneFile = join(dir, `${ZONE}.zone`);
  writeFileSync(
    zoneFile,
    [
      "$TTL 60",
      `@ IN SOA ns1.${ZONE}. hostmaster.${ZONE}. 1 60 60 3600 60`,
      `@ IN NS ns1.${ZONE}.`,
      "ns1 IN A 127.0.0.1",
      "@ IN A 127.0.0.1",
      "",
    ].join("\n"),
  );
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, "named.conf");
    writeFileSync(
      config,
      [
        "options {",
        `  directory "${dir}";`,
        `  pid-file "${dir}/named.pid";`,
        `  session-keyfile "${dir}/session.key";`,
        `  listen-on port ${port} { 127.0.0.1; };`,
        "  listen-on-v6 { none; };",
        "  recursion no;",
        "  dnssec-validation no;",
        "  allow-query { any; };",
        "  notify no;",
        "};",
        "controls { };",
        ...Object.values(keys).map((k) => `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };`),
        `zone "${ZONE}" { type primary; file "${zoneFile}"; allow-update { ${Object.values(keys).map((k) => `key "${k.name}";`).join(" ")} }; };`,
        "",
      ].join("\n"),
    );
    const chunks: string[] = [];
    const setpriv = findCommand("setpriv");
    const child = spawn([...(setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : []), findCommand("named")!, "-g", "-4", "-n", "1", "-c", config], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    liveChildren.add(child);
    void child.exited.then(() => liveChildren.delete(child));
    for (const stream of [child.stdout, child.stderr]) void (async () => { for await (const chunk of stream) chunks.push(new TextDecoder().decode(chunk)); })();
    const logs = () => chunks.join("");
    const dig = async (...args: string[]) => {
      const proc = spawn([findCommand("dig")!, "+short", "+norecurse", "+time=1", "+tries=1", "-p", String(port), "@127.0.0.1", ...args], { stdout: "pipe", stderr: "pipe" });
      const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      return out;
    };
    const deadline = Date.now() + 20_000;
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await dig(ZONE, "SOA")).includes(`ns1.${ZONE}.`)) {
        ready = true;
        break;
      }
      await Bun.sleep(50);
    }
    if (!ready) {
      await terminate(child);
      if (attempt < 3 && /address in use/.test(logs())) continue;
      liveDirs.delete(dir);
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`named did not answer on 127.0.0.1:${port}:\n${logs()}`);
    }
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await terminate(child);
      liveDirs.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    };
    return {
      port,
      address: `127.0.0.1:${port}`,
      zone: ZONE,
      keys,
      txt: async (name) => (await dig(name, "TXT")).split("\n").filter(Boolean).map((line) => line.replace(/^"|"$/g, "").replace(/" "/g, "")),
      logs,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}

async function terminate(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3_000);
  await proc.exited;
  clearTimeout(timer);
}
