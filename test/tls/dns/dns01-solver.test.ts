import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseCommand } from "../../../src/config/index.ts";
import { createLogger } from "../../../src/log/index.ts";
import { dns01Solver } from "../../../src/tls/dns/dns01-solver.ts";
import { hookPublisher } from "../../../src/tls/dns/hook-solver.ts";
import { propagationCheck } from "../../../src/tls/dns/propagation.ts";
import { rfc2136Publisher } from "../../../src/tls/dns/rfc2136.ts";
import { startBind, type Bind } from "../../support/bind.ts";
import { tempDir } from "../../support/server.ts";
import { rejection } from "../../support/wait.ts";

// DNS-01's other parts against a real BIND: waiting for the record at the
// authoritative servers (propagation.ts), the hook solver driving nsupdate
// (hook-solver.ts), and the solver that names the records (dns01-solver.ts).

let bind: Bind;
const dir = tempDir("dns01-");
beforeAll(async () => {
  bind = await startBind();
});
afterAll(async () => {
  await bind?.stop();
  dir.remove();
});

const lines: string[] = [];
const logger = createLogger("debug", (line) => lines.push(line));
const server = () => ({ host: "127.0.0.1", port: bind.port });
const key = () => {
  const command = parseCommand([], { MCP_DNS_TSIG_KEY: bind.keys.sha256.setting });
  if (command.kind !== "serve") throw new Error("unexpected");
  return command.config.dnsTsigKey!;
};

describe("propagation", () => {
  test("waits until the record shows at the zone's name servers (found through its NS records), then says so", async () => {
    const publisher = rfc2136Publisher({ server: server(), key: key() });
    const record = { name: "_acme-challenge.wait.docs.example.test", value: "late-value", domain: "wait.docs.example.test" };
    // The NS records say ns1 at 127.0.0.1 (port 53 in real life; this BIND listens elsewhere).
    const check = propagationCheck({ resolvers: [server()], nameserverPort: bind.port, pollMs: 100, timeoutMs: 20_000, logger });
    const waiting = check.wait(record);
    let done = false;
    void waiting.then(() => (done = true));
    await Bun.sleep(500);
    expect(done).toBe(false);
    await publisher.add(record);
    await waiting;
    expect(lines.some((line) => line.includes('msg="TXT record visible at every authoritative server') && line.includes(`servers=127.0.0.1:${bind.port}`))).toBe(true);
    await publisher.remove(record);
  });

  test("a record that never shows fails after the timeout, in one line naming the record, the value and each server", async () => {
    const check = propagationCheck({ nameservers: [server(), { host: "127.0.0.1", port: 9 }], pollMs: 100, timeoutMs: 1_000, logger });
    const error = await rejection(check.wait({ name: "_acme-challenge.never.docs.example.test", value: "never-value", domain: "never.docs.example.test" }), "a wait for a record nobody publishes");
    expect(error.message).toStartWith('the TXT record _acme-challenge.never.docs.example.test = "never-value" did not show at every authoritative server within 1 s');
    expect(error.message).toContain(`127.0.0.1:${bind.port}: no such record yet`);
    expect(error.message).toContain("127.0.0.1:9: ");
    expect(error.message).toContain("MCP_DNS_PROPAGATION_TIMEOUT");
    expect(error.message).not.toContain("\n");
  }, 30_000);
});

describe("hook solver", () => {
  /** A provider's CLI stand-in: nsupdate against the test BIND, with the key the operator keeps in the script. */
  const script = (body: string) => {
    const path = join(dir.path, `hook-${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const nsupdateHook = () =>
    script(
      [
        "set -e",
        'case "$1" in present) line="update add $MCP_DNS_NAME. 60 TXT \\"$MCP_DNS_VALUE\\"" ;; cleanup) line="update delete $MCP_DNS_NAME. TXT \\"$MCP_DNS_VALUE\\"" ;; *) exit 64 ;; esac',
        `printf 'server 127.0.0.1 ${bind.port}\\n%s\\nsend\\n' "$line" | nsupdate -y '${bind.keys.sha512.setting}'`,
        'env > "$0.env"',
      ].join("\n"),
    );

  test("present and cleanup through nsupdate, with name, value and domain in the environment", async () => {
    const hook = nsupdateHook();
    const solver = dns01Solver({ publisher: hookPublisher({ command: hook, logger }), propagation: propagationCheck({ nameservers: [server()], pollMs: 100, logger }), logger });
    const challenge = { identifier: "hook.docs.example.test", token: "t", keyAuthorization: "hook-value" };
    await solver.present(challenge);
    await solver.wait!(challenge);
    expect(await bind.txt("_acme-challenge.hook.docs.example.test")).toEqual(["hook-value"]);
    const env = await Bun.file(`${hook}.env`).text();
    expect(env).toContain("MCP_DNS_NAME=_acme-challenge.hook.docs.example.test\n");
    expect(env).toContain("MCP_DNS_VALUE=hook-value\n");
    expect(env).toContain("MCP_DNS_DOMAIN=hook.docs.example.test\n");
    await solver.cleanUp(challenge);
    expect(await bind.txt("_acme-challenge.hook.docs.example.test")).toEqual([]);
  });

  test("the server's own secrets are not in the hook's environment", async () => {
    const hook = nsupdateHook();
    process.env.MCP_DNS_TSIG_KEY = "hmac-sha256:k:c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
    process.env.MCP_AUTH_TOKEN = "token-token-token-token";
    try {
      await hookPublisher({ command: hook, logger }).add({ name: "_acme-challenge.env.docs.example.test", value: "v", domain: "env.docs.example.test" });
    } finally {
      delete process.env.MCP_DNS_TSIG_KEY;
      delete process.env.MCP_AUTH_TOKEN;
    }
    const env = await Bun.file(`${hook}.env`).text();
    expect(env).not.toContain("MCP_DNS_TSIG_KEY");
    expect(env).not.toContain("MCP_AUTH_TOKEN");
    expect(env).toContain("PATH=");
  });

  test("a failing hook fails the step with its exit status and last line of output; a hanging one is killed", async () => {
    const failing = script('echo "provider says: invalid token" >&2; exit 3');
    const error = await rejection(hookPublisher({ command: failing, logger }).add({ name: "_acme-challenge.x.docs.example.test", value: "v", domain: "x" }), "a failing hook");
    expect(error.message).toBe("the DNS hook (present _acme-challenge.x.docs.example.test) failed with exit status 3: provider says: invalid token");
    const hanging = script("sleep 30");
    const timeout = await rejection(hookPublisher({ command: hanging, logger, timeoutMs: 300 }).add({ name: "_acme-challenge.x.docs.example.test", value: "v", domain: "x" }), "a hanging hook");
    expect(timeout.message).toBe("the DNS hook (present _acme-challenge.x.docs.example.test) did not finish within 0 s");
  });
});

describe("dns01Solver", () => {
  test("a wildcard and its base name put two values on one name; cleanup removes each", async () => {
    const solver = dns01Solver({ publisher: rfc2136Publisher({ server: server(), key: key() }), propagation: propagationCheck({ nameservers: [server()], pollMs: 100, logger }), logger });
    expect(solver.type).toBe("dns-01");
    const base = { identifier: "w.docs.example.test", token: "a", keyAuthorization: "base-value" };
    const wildcard = { identifier: "*.w.docs.example.test", token: "b", keyAuthorization: "wildcard-value" };
    await solver.present(base);
    await solver.present(wildcard);
    await Promise.all([solver.wait!(base), solver.wait!(wildcard)]);
    expect((await bind.txt("_acme-challenge.w.docs.example.test")).sort()).toEqual(["base-value", "wildcard-value"]);
    await solver.cleanUp(base);
    await solver.cleanUp(wildcard);
    expect(await bind.txt("_acme-challenge.w.docs.example.test")).toEqual([]);
  });
});
