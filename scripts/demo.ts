/**
 * The whole product on one machine in under a minute: a local ACME CA
 * (Pebble, Let's Encrypt's test CA), the compiled `./mcp-server` getting its
 * own certificate from it over HTTP-01, and a real HTTPS health check and MCP
 * search against it, all on free loopback ports.
 *
 *   npm run demo                # build, start, verify, then run until Ctrl-C
 *   bun scripts/demo.ts --help
 *
 * Nothing outlives the demo: the server and Pebble are stopped and the
 * temporary directory (certificates, data, the Pebble root) is removed on
 * Ctrl-C, SIGTERM, a failure, or after `--check`.
 */
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { ensurePebbleInstalled, freePort, startPebble, type Pebble } from "../test/support/pebble.ts";
import { connectHttps, loopbackFetch } from "../test/support/tls-client.ts";

const DOMAIN = "docs.example.test";
const QUERY = "connect ChatGPT";
const READY_TIMEOUT_MS = 30_000;
const VERIFY_TIMEOUT_MS = 10_000;
const SERVER_STOP_GRACE_MS = 12_000; // the server drains requests for up to 10 s
const ROOT = join(import.meta.dir, "..");
const BINARY = join(ROOT, "mcp-server");

const USAGE = `npm run demo [-- options]      (or: bun scripts/demo.ts [options])

Runs the compiled mcp-server with automatic HTTPS against Pebble, a local
ACME CA (Let's Encrypt's test CA, Debian package "pebble", installed if
missing when run as root). Everything listens on free loopback ports: no
port 80/443, no public domain and no DNS change are needed. The demo checks
the server over HTTPS itself, prints commands to try, and runs until Ctrl-C.

Options:
  --no-build   use the existing ./mcp-server instead of running npm run build
  --check      start, verify, print the summary, then stop and exit (for CI)
  --help, -h   print this help
`;

// ---------------------------------------------------------------- options

interface Options {
  build: boolean;
  check: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { build: true, check: false };
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (arg === "--no-build") options.build = false;
    else if (arg === "--check") options.check = true;
    else {
      process.stderr.write(`demo: unknown option ${arg}\n\n${USAGE}`);
      process.exit(2);
    }
  }
  return options;
}

// ---------------------------------------------------------------- output

const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const red = paint("31");
const cyan = paint("36");

const say = (text: string): void => void process.stdout.write(`${cyan("[demo]")} ${text}\n`);
const fail = (text: string): void => void process.stderr.write(`${red("[demo]")} ${text}\n`);

/** Single-quotes `text` for a POSIX shell. */
const shq = (text: string): string => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`);

// Everything here is on this machine: a proxy from the environment (HTTPS_PROXY) must not
// see Pebble or the server. Set before anything starts; children inherit it.
for (const key of ["NO_PROXY", "no_proxy"]) {
  process.env[key] = [process.env[key], "127.0.0.1", "localhost", "::1", DOMAIN].filter(Boolean).join(",");
}

// ---------------------------------------------------------------- state and shutdown

class Interrupted extends Error {}

/** Everything the demo owns, so that shutdown() can undo whatever was done so far. */
const state: { dir?: string; pebble?: Pebble; server?: Subprocess<"ignore", "pipe", "pipe">; build?: Subprocess } = {};

/** Why the demo is stopping: the signal received, or that its parent exited. */
let signalled: string | undefined;
let wakeOnSignal!: () => void;
const onSignal = new Promise<void>((resolve) => (wakeOnSignal = resolve));

function stopRequested(reason: string): void {
  if (signalled) {
    // A second Ctrl-C: stop waiting. The "exit" hooks below (and the Pebble
    // harness's own) SIGKILL the children and remove the temporary files.
    fail("second signal: killing everything now");
    process.exit(130);
  }
  signalled = reason;
  wakeOnSignal();
}
// SIGHUP: the terminal was closed.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stopRequested(signal));

// npm does not always pass on a SIGTERM sent to it (npm 11 here: `kill <npm pid>` made npm
// exit and left the demo running). Notice that our parent is gone and stop as for SIGTERM.
const parentPid = process.ppid;
const parentWatch = setInterval(() => {
  if (process.ppid === parentPid || signalled) return;
  clearInterval(parentWatch);
  stopRequested(`the process that started the demo (pid ${parentPid}) has exited`);
}, 500);
parentWatch.unref();

// Last resort if the demo exits some other way (an uncaught error, process.exit):
// "exit" handlers must be synchronous, so SIGKILL. Pebble's harness does the same for its children.
process.once("exit", () => {
  state.build?.kill("SIGKILL");
  state.server?.kill("SIGKILL");
  if (state.dir) rmSync(state.dir, { recursive: true, force: true });
});

function throwIfSignalled(): void {
  if (signalled) throw new Interrupted(signalled);
}

/** Waits for `promise`, or throws Interrupted as soon as SIGINT/SIGTERM arrives. */
async function interruptible<T>(promise: Promise<T>): Promise<T> {
  throwIfSignalled();
  const result = await Promise.race([promise, onSignal.then(() => Interrupted)]);
  if (result === Interrupted) throwIfSignalled();
  return result as T;
}

let shuttingDown: Promise<void> | undefined;

/** Stops the server (SIGTERM, then SIGKILL after a grace period), then Pebble, and removes the temp dir. */
function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    const { build, server, pebble, dir } = state;
    if (build && build.exitCode === null && build.signalCode === null) {
      build.kill("SIGTERM");
      await build.exited;
    }
    if (server && server.exitCode === null && server.signalCode === null) {
      say("stopping mcp-server …");
      server.kill("SIGTERM");
      const timer = setTimeout(() => server.kill("SIGKILL"), SERVER_STOP_GRACE_MS);
      await server.exited;
      clearTimeout(timer);
    }
    if (pebble) {
      say("stopping Pebble …");
      await pebble.stop();
    }
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
      state.dir = undefined;
    }
    say("stopped; temporary files removed.");
  })();
  return shuttingDown;
}

// ---------------------------------------------------------------- steps

async function build(): Promise<void> {
  say(`building ./mcp-server ${dim("(npm run build)")} …`);
  const proc = Bun.spawn(["npm", "run", "--silent", "build"], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  state.build = proc;
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const exitCode = await interruptible(proc.exited);
  state.build = undefined;
  if (exitCode !== 0) {
    const [stdout, stderr] = await output;
    throw new Error(`npm run build failed (exit ${exitCode}):\n${stdout}${stderr}`);
  }
}

/** Two distinct free loopback ports. */
async function twoFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  for (;;) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
}

interface Running {
  server: Subprocess<"ignore", "pipe", "pipe">;
  lines: string[];
  /** Resolves with the port of `msg="serving https"`; rejects if the server exits first or after the timeout. */
  ready: Promise<number>;
}

/** Prefix making the kernel send SIGTERM to the server if the demo dies without cleaning up (even by SIGKILL). */
function deathSignalPrefix(): string[] {
  const setpriv = Bun.which("setpriv") ?? (existsSync("/usr/bin/setpriv") ? "/usr/bin/setpriv" : undefined);
  return setpriv ? [setpriv, "--pdeathsig", "TERM", "--"] : [];
}

function startServer(env: Record<string, string>, cwd: string): Running {
  // The caller's MCP_* settings would change what the demo shows: only ours count.
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("MCP_")) base[key] = value;
  }
  const server = Bun.spawn([...deathSignalPrefix(), BINARY], { cwd, env: { ...base, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  state.server = server;
  const lines: string[] = [];
  let resolveReady!: (port: number) => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<number>((resolve, reject) => ((resolveReady = resolve), (rejectReady = reject)));

  const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    const decoder = new TextDecoder();
    let buffered = "";
    const line = (text: string): void => {
      lines.push(text);
      process.stdout.write(`${dim("[server]")} ${text}\n`);
      if (text.includes('msg="serving https"')) {
        const port = /\bport=(\d+)/.exec(text);
        if (port) resolveReady(Number(port[1]));
        else rejectReady(new Error(`the server logged "serving https" without a port: ${text}`));
      }
    };
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        line(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    }
    buffered += decoder.decode();
    if (buffered) line(buffered);
  };
  const drained = Promise.all([pump(server.stdout), pump(server.stderr)]);

  void server.exited.then(async () => {
    await drained; // the last lines explain why
    rejectReady(new Error(`mcp-server exited (${server.signalCode ?? `code ${server.exitCode}`}) before it served HTTPS. Its log is above (the [server] lines).`));
  });
  const timer = setTimeout(
    () =>
      rejectReady(
        new Error(
          `mcp-server did not log msg="serving https" within ${READY_TIMEOUT_MS / 1000} s. ` +
            (lines.length ? `Its log is above (the [server] lines).` : "It logged nothing at all."),
        ),
      ),
    READY_TIMEOUT_MS,
  );
  void ready.then(
    () => clearTimeout(timer),
    () => clearTimeout(timer),
  );
  return { server, lines, ready };
}

function withTimeout<T>(promise: Promise<T>, what: string, ms = VERIFY_TIMEOUT_MS): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms).unref()),
  ]);
}

interface Verified {
  health: Record<string, any>;
  top: { id: string; title: string; url: string; snippet?: string };
  resultCount: number;
}

/** The checks a newcomer would do by hand, trusting only Pebble's issuing root. */
async function verify(port: number, rootPem: string): Promise<Verified> {
  const fetchHttps = loopbackFetch(DOMAIN, rootPem);
  const healthUrl = `https://${DOMAIN}:${port}/healthz`;
  const response = await fetchHttps(healthUrl, { signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS) });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${healthUrl} answered ${response.status}: ${body}`);
  const health = JSON.parse(body) as Record<string, any>;

  const client = await withTimeout(connectHttps(DOMAIN, port, rootPem), `MCP initialize at https://${DOMAIN}:${port}/mcp`);
  try {
    const result = (await withTimeout(client.callTool({ name: "search", arguments: { query: QUERY } }), "MCP search")) as {
      content: { type: string; text: string }[];
      isError?: boolean;
    };
    const text = result.content[0]?.text ?? "";
    if (result.isError) throw new Error(`the search tool failed: ${text}`);
    const { results } = JSON.parse(text) as { results: Verified["top"][] };
    if (!results[0]) throw new Error(`the search for ${JSON.stringify(QUERY)} found nothing`);
    return { health, top: results[0], resultCount: results.length };
  } finally {
    // End the session (DELETE /mcp) so the healthz a newcomer fetches next shows none open.
    const transport = client.transport as { terminateSession?: () => Promise<void> } | undefined;
    await withTimeout(transport?.terminateSession?.() ?? Promise.resolve(), "MCP session end").catch(() => {});
    await client.close().catch(() => {});
  }
}

function summary(port: number, rootPath: string, verified: Verified, seconds: number, check: boolean): string {
  const origin = `https://${DOMAIN}:${port}`;
  const resolve = `--resolve ${DOMAIN}:${port}:127.0.0.1`;
  const curl = `curl --cacert ${shq(rootPath)} ${resolve}`;
  const initialize = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "curl", version: "1.0" } },
  });
  const { health, top, resultCount } = verified;
  const cert = health.certificate ?? {};
  const certText = [cert.names ? `for ${[cert.names].flat().join(", ")}` : "", cert.issuer ? `issued by ${cert.issuer}` : "", cert.notAfter ? `valid until ${cert.notAfter}` : ""]
    .filter(Boolean)
    .join(", ");
  const docsText = [health.pages !== undefined ? `${health.pages} pages` : "", health.sections !== undefined ? `${health.sections} sections` : ""].filter(Boolean).join(", ");
  const hosts = `127.0.0.1 ${DOMAIN}`;
  const rule = dim("─".repeat(72));

  return [
    "",
    rule,
    `${green("✔")} ${bold(`Ready in ${seconds.toFixed(1)} s`)}: mcp-server got a certificate for ${DOMAIN} from Pebble over ACME HTTP-01`,
    `  and serves MCP at ${bold(`${origin}/mcp`)}`,
    "",
    `  ${green("✔")} GET ${origin}/healthz → 200 ${health.status ?? ""}${docsText ? ` (${docsText})` : ""}`,
    ...(certText ? [`      certificate ${certText}`] : []),
    `  ${green("✔")} MCP search ${JSON.stringify(QUERY)} → ${resultCount} result${resultCount === 1 ? "" : "s"}, first: "${top.title}"`,
    `      ${top.url}`,
    "",
    `  Pebble's issuing root (trust it, and nothing else, for this demo): ${rootPath}`,
    rule,
    "",
    check ? bold("Try it (these work while `npm run demo` runs; --check stops right away):") : bold("Try it, in another terminal:"),
    "",
    `  ${bold("1. Health over HTTPS")}, verified against the Pebble root only:`,
    `     ${curl} ${origin}/healthz`,
    "",
    `  ${bold("2. An MCP call with curl")} (initialize; the reply's Mcp-Session-Id header names the session):`,
    `     ${curl} -i ${origin}/mcp \\`,
    `       -H 'Content-Type: application/json' \\`,
    `       -H 'Accept: application/json, text/event-stream' \\`,
    `       -d ${shq(initialize)}`,
    "",
    `  ${bold("3. The status page in a browser")}: ${origin}/`,
    `     Needs the line "${hosts}" in /etc/hosts (e.g. echo ${shq(hosts)} | sudo tee -a /etc/hosts)`,
    `     and the browser to trust ${rootPath}`,
    `     (a throwaway root made for this run: remove both afterwards).`,
    "",
    `  ${bold("4. The MCP Inspector")} (needs the same /etc/hosts line):`,
    `     NODE_EXTRA_CA_CERTS=${shq(rootPath)} npx @modelcontextprotocol/inspector --transport http --server-url ${origin}/mcp`,
    `     In its UI: Transport "Streamable HTTP", URL ${origin}/mcp, Connection type "Via Proxy"`,
    `     (the proxy is the Node process that trusts the root; "Direct" needs the browser to trust it).`,
    "",
    rule,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- main

async function main(options: Options): Promise<void> {
  const started = performance.now();

  say("checking Pebble (Let's Encrypt's test CA) is installed …");
  await interruptible(ensurePebbleInstalled());

  if (options.build || !existsSync(BINARY)) {
    if (!options.build) say("--no-build given but ./mcp-server does not exist: building it");
    await build();
  } else say("using the existing ./mcp-server (--no-build)");

  const dir = mkdtempSync(join(tmpdir(), "mcp-demo-"));
  state.dir = dir;
  const [acmePort, httpsPort] = await twoFreePorts();

  say(`starting Pebble and its DNS helper (HTTP-01 validation against 127.0.0.1:${acmePort}) …`);
  // Not raced against signals: an abandoned start would leave Pebble to the exit hook alone.
  state.pebble = await startPebble({ httpPort: acmePort });
  throwIfSignalled();
  const pebble = state.pebble;
  const rootPem = await pebble.root();
  const rootPath = join(dir, "pebble-root.pem");
  writeFileSync(rootPath, rootPem);
  say(`Pebble is up: ${pebble.directoryUrl}`);

  say(`starting ./mcp-server with MCP_DOMAINS=${DOMAIN} (HTTPS on ${httpsPort}, ACME responder on ${acmePort}) …`);
  const running = startServer(
    {
      MCP_DOMAINS: DOMAIN,
      MCP_ACME_DIRECTORY: pebble.directoryUrl,
      MCP_ACME_PORT: String(acmePort),
      MCP_HOST: "127.0.0.1", // a demo: nothing is reachable from the network
      MCP_PORT: String(httpsPort),
      MCP_CERTS_DIR: join(dir, "certs"),
      MCP_DATA_DIR: join(dir, "data"),
      // Trusts Pebble's own HTTPS listener (its ACME API), not the certificates it issues.
      NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    },
    dir,
  );
  const port = await interruptible(running.ready);

  say("verifying over HTTPS, trusting only Pebble's issuing root …");
  const verified = await interruptible(verify(port, rootPem));
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(summary(port, rootPath, verified, seconds, options.check));

  if (options.check) return;
  say(bold("Running. Press Ctrl-C to stop the server and Pebble and remove the temporary files."));
  // Keep running until a signal, or until the server dies on its own.
  await Promise.race([onSignal, running.server.exited]);
  if (!signalled) throw new Error(`mcp-server exited unexpectedly (${running.server.signalCode ?? `code ${running.server.exitCode}`}); its log is above.`);
}

const options = parseArgs(Bun.argv.slice(2));
let exitCode = 0;
try {
  await main(options);
  if (signalled) say(`stopping: ${signalled}`);
} catch (error) {
  if (error instanceof Interrupted) {
    say(`stopping before the demo was ready: ${signalled}`);
    exitCode = 130;
  } else {
    fail(error instanceof Error ? error.message : String(error));
    const pebbleLog = state.pebble?.logs().trimEnd();
    if (pebbleLog) {
      process.stderr.write(`${red("[demo]")} Pebble's log:\n${pebbleLog.replace(/^/gm, `${dim("[pebble]")} `)}\n`);
    }
    exitCode = 1;
  }
}
await shutdown();
process.exit(exitCode);
