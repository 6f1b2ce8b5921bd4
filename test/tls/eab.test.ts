/**
 * External account binding (ZeroSSL, Google Trust Services, step-ca) against
 * a real Pebble that requires it: a wrong key id is reported as what it is,
 * with the settings to check and never the HMAC key, and the right one gets
 * a certificate.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ensurePebbleInstalled, freePort, startPebble, type Pebble } from "../support/pebble.ts";
import { loggedPort, spawnServer } from "../support/process.ts";
import { tempDir } from "../support/server.ts";

const DOMAIN = "docs.example.test";
const KID = "kid-docs-1";
// Pebble takes the HMAC key base64url-encoded, as CAs hand it out.
const HMAC = Buffer.from("an hmac key of thirty-two bytes!").toString("base64url");
const dirs: { remove: () => void }[] = [];
let pebble: Pebble;
let acmePort: number;

beforeAll(async () => {
  await ensurePebbleInstalled();
  acmePort = await freePort();
  pebble = await startPebble({ httpPort: acmePort, externalAccounts: { [KID]: HMAC } });
});
afterAll(async () => {
  await pebble?.stop();
  for (const dir of dirs) dir.remove();
});

function env(kid: string): Record<string, string> {
  const certs = tempDir();
  const data = tempDir();
  dirs.push(certs, data);
  return {
    MCP_DOMAINS: DOMAIN,
    MCP_ACME_DIRECTORY: pebble.directoryUrl,
    MCP_ACME_PORT: String(acmePort),
    MCP_PORT: "0",
    MCP_CERTS_DIR: certs.path,
    MCP_DATA_DIR: data.path,
    MCP_ACME_EAB_KID: kid,
    MCP_ACME_EAB_HMAC_KEY: HMAC,
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    MCP_TEST_TUNING: JSON.stringify({ retryMinMs: 60_000, retryMaxMs: 60_000 }),
  };
}

test("an unknown key id: the hint names the EAB settings, not DNS or port 80, and the HMAC key is never logged", async () => {
  await using server = spawnServer(env("kid-nobody-has"));
  const line = await server.waitFor(/could not get a certificate/, 30_000);
  expect(line).toContain("MCP_ACME_EAB_KID");
  expect(line).not.toContain("port 80");
  expect(server.lines.join("\n")).not.toContain(HMAC);
});

test("the right key id gets a certificate", async () => {
  await using server = spawnServer(env(KID));
  const line = await server.waitFor(/msg="serving https"/, 30_000);
  expect(loggedPort(line)).toBeGreaterThan(0);
  expect(server.lines.join("\n")).not.toContain(HMAC);
});
