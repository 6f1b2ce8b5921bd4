import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBind, type Bind } from "../support/bind.ts";
import { freePort, startPebble, type Pebble } from "../support/pebble.ts";
import { loggedPort, spawnServer, type ServerProcess } from "../support/process.ts";
import { tempDir } from "../support/server.ts";
import { connectHttps, loopbackFetch, peerCertificate } from "../support/tls-client.ts";

// DNS-01 end to end: the real server as a process orders a certificate for
// a name and its wildcard from Pebble, whose VA resolves through a real
// BIND; the records go in by RFC 2136 with TSIG, or by a hook command that
// runs nsupdate, and are gone afterwards. Port 80 plays no part.

const DOMAIN = "docs.example.test";
const WILDCARD = "*.docs.example.test";
const RECORD = "_acme-challenge.docs.example.test";
const dir = tempDir("dns01-e2e-");
let bind: Bind;
let pebble: Pebble;

beforeAll(async () => {
  bind = await startBind();
  // Pebble validates HTTP-01 nowhere here: its VA only asks BIND for TXT records.
  pebble = await startPebble({ httpPort: await freePort(), dnsServer: bind.address });
});
afterAll(async () => {
  await pebble?.stop();
  await bind?.stop();
  dir.remove();
});

let dirs = 0;
let acmePort: number;
beforeAll(async () => {
  acmePort = await freePort();
});
function serverEnv(extra: Record<string, string>): Record<string, string> {
  const n = ++dirs;
  return {
    MCP_DOMAINS: `${DOMAIN},${WILDCARD}`,
    MCP_ACME_CHALLENGE: "dns-01",
    MCP_DNS_NAMESERVERS: bind.address,
    MCP_ACME_DIRECTORY: pebble.directoryUrl,
    // Port 80's stand-in still serves /healthz and redirects; DNS-01 needs nothing from it.
    MCP_ACME_PORT: String(acmePort),
    MCP_PORT: "0",
    MCP_CERTS_DIR: join(dir.path, `certs-${n}`),
    MCP_DATA_DIR: join(dir.path, `data-${n}`),
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    MCP_TEST_TUNING: JSON.stringify({ retryMinMs: 300, retryMaxMs: 1_500, dnsPollMs: 100 }),
    ...extra,
  };
}

/** Starts the server and checks what every DNS-01 issuance must show. */
async function issueAndCheck(env: Record<string, string>): Promise<ServerProcess> {
  const orders = pebble.ordersPlaced();
  const server = spawnServer(env);
  const line = await server.waitFor(/msg="serving https"/, 60_000);
  const port = loggedPort(line);
  expect(pebble.ordersPlaced()).toBe(orders + 1);
  // One certificate for the name and its wildcard.
  const certificate = await peerCertificate(`api.${DOMAIN}`, port);
  expect(certificate.subjectaltname?.split(", ").sort()).toEqual([`DNS:${WILDCARD}`, `DNS:${DOMAIN}`]);
  // A name under the wildcard verifies against Pebble's root.
  const root = await pebble.root();
  const health = await loopbackFetch(`api.${DOMAIN}`, root)(`https://api.${DOMAIN}:${port}/healthz`);
  expect(health.status).toBe(200);
  const client = await connectHttps(DOMAIN, port, root);
  expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  await client.close();
  // Two values at one name, both published, waited for, and removed.
  expect(server.count(/msg="DNS-01 record published" name=_acme-challenge\.docs\.example\.test /)).toBe(2);
  expect(server.count(/msg="TXT record visible at every authoritative server/)).toBe(2);
  expect(await bind.txt(RECORD)).toEqual([]);
  return server;
}

describe("DNS-01 through RFC 2136 with TSIG", () => {
  test("a name and its wildcard are issued, the records are removed, and the TSIG secret reaches no log and no /healthz", async () => {
    const server = await issueAndCheck(serverEnv({ MCP_DNS_SERVER: bind.address, MCP_DNS_TSIG_KEY: bind.keys.sha256.setting }));
    try {
      const port = loggedPort((await server.waitFor(/msg="serving https"/))!);
      const health = await (await loopbackFetch(DOMAIN, await pebble.root())(`https://${DOMAIN}:${port}/healthz`)).text();
      const secret = bind.keys.sha256.secret;
      expect(health).not.toContain(secret);
      expect(server.lines.join("\n")).not.toContain(secret);
      // The secret's bytes in any other spelling are not there either.
      expect(server.lines.join("\n")).not.toContain(Buffer.from(secret, "base64").toString("hex"));
      expect(server.count(/via="RFC 2136 updates to 127\.0\.0\.1:\d+ signed with TSIG key mcp-test-256 \(hmac-sha256\)"/)).toBe(2);
    } finally {
      await server.stop();
    }
  });

  test("a wrong TSIG secret: no certificate, one clear reason, retried", async () => {
    const wrong = `hmac-sha256:${bind.keys.sha256.name}:${Buffer.alloc(32, 9).toString("base64")}`;
    const server = spawnServer(serverEnv({ MCP_DNS_SERVER: bind.address, MCP_DNS_TSIG_KEY: wrong }));
    try {
      const line = await server.waitFor(/could not get a certificate; will retry/, 60_000);
      expect(line).toContain("the server refused the TSIG signature: BADSIG");
      expect(server.lines.join("\n")).not.toContain(Buffer.alloc(32, 9).toString("base64"));
    } finally {
      await server.stop();
    }
  });
});

describe("DNS-01 through a hook command", () => {
  test("nsupdate as the provider's CLI: issued for the name and its wildcard, records removed", async () => {
    const hook = join(dir.path, "nsupdate-hook.sh");
    writeFileSync(
      hook,
      [
        "#!/bin/sh",
        "set -e",
        'case "$1" in present) line="update add $MCP_DNS_NAME. 60 TXT \\"$MCP_DNS_VALUE\\"" ;; cleanup) line="update delete $MCP_DNS_NAME. TXT \\"$MCP_DNS_VALUE\\"" ;; *) exit 64 ;; esac',
        `printf 'server 127.0.0.1 ${bind.port}\\n%s\\nsend\\n' "$line" | nsupdate -y "$PROVIDER_KEY"`,
        "",
      ].join("\n"),
    );
    chmodSync(hook, 0o755);
    // The provider's credential comes from the environment, as from the env file.
    const server = await issueAndCheck(serverEnv({ MCP_DNS_HOOK: hook, PROVIDER_KEY: bind.keys.sha512.setting }));
    expect(server.count(/via="the command in MCP_DNS_HOOK"/)).toBe(2);
    await server.stop();
  });
});
