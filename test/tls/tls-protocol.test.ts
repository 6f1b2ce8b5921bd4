import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensurePebbleInstalled, freePort, startPebble, type Pebble } from "../support/pebble.ts";
import { loggedPort, spawnServer, type ServerProcess } from "../support/process.ts";
import { tempDir } from "../support/server.ts";

// The TLS the real server speaks, seen by an independent client (openssl
// s_client) against a certificate Pebble issued: TLS 1.2 and 1.3 only, and
// the complete chain, so that clients which do not fetch intermediates
// (most non-browser clients, ChatGPT's and Claude's connectors) verify it.

const DOMAIN = "docs.example.test";
const dirs: { remove: () => void }[] = [];
const newDir = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir.path;
};

let pebble: Pebble;
let server: ServerProcess;
let port: number;
/** The issuing root of the running Pebble, as a file for -CAfile. */
let rootFile: string;

beforeAll(async () => {
  await ensurePebbleInstalled();
  const acmePort = await freePort();
  pebble = await startPebble({ httpPort: acmePort });
  rootFile = join(newDir(), "pebble-root.pem");
  writeFileSync(rootFile, await pebble.root());
  server = spawnServer({
    MCP_HOST: "127.0.0.1",
    MCP_DOMAINS: DOMAIN,
    MCP_ACME_DIRECTORY: pebble.directoryUrl,
    MCP_ACME_PORT: String(acmePort),
    MCP_PORT: "0",
    MCP_CERTS_DIR: newDir(),
    MCP_DATA_DIR: newDir(),
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    MCP_TEST_TUNING: JSON.stringify({ retryMinMs: 300, retryMaxMs: 1_500 }),
  });
  port = loggedPort(await server.waitFor(/msg="serving https"/, 30_000));
});
afterAll(async () => {
  await server?.stop();
  await pebble?.stop();
  dirs.forEach((dir) => dir.remove());
});

interface Handshake {
  exitCode: number;
  /** stdout and stderr together: s_client splits its report between them. */
  output: string;
  /** The negotiated protocol (`TLSv1.3`), when the handshake completed. */
  protocol?: string;
}

/** One `openssl s_client` handshake to the server, with SNI and only Pebble's root trusted. */
function sClient(...options: string[]): Handshake {
  const result = Bun.spawnSync(
    ["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-servername", DOMAIN, "-CAfile", rootFile, "-verify_hostname", DOMAIN, ...options],
    // Closed stdin: s_client ends the connection as soon as the handshake is done.
    { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 15_000 },
  );
  const output = result.stdout.toString() + result.stderr.toString();
  // "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" once a handshake completed;
  // "New, (NONE), Cipher is (NONE)" when it did not. (The SSL-Session block's
  // "Protocol" line names the version the client asked for, even on failure.)
  const protocol = /^New, (TLSv[\d.]+), Cipher is (?!\(NONE\))/m.exec(output)?.[1];
  return { exitCode: result.exitCode ?? -1, output, protocol };
}

describe("protocol versions", () => {
  test.each([
    ["-tls1_2", "TLSv1.2"],
    ["-tls1_3", "TLSv1.3"],
  ])("%s negotiates %s and verifies", (flag, expected) => {
    const handshake = sClient(flag);
    expect(handshake.protocol, handshake.output).toBe(expected);
    expect(handshake.output).toContain("Verify return code: 0 (ok)");
    expect(handshake.exitCode, handshake.output).toBe(0);
  });

  test.each([["-tls1_1"], ["-tls1"]])("%s is refused by the server", (flag) => {
    // SECLEVEL=0: OpenSSL 3 itself no longer offers TLS 1.0/1.1 (their
    // SHA-1 signatures) at the default security level; here it really does,
    // so any refusal comes from the server.
    const handshake = sClient(flag, "-cipher", "DEFAULT@SECLEVEL=0");
    expect(handshake.exitCode, handshake.output).not.toBe(0);
    expect(handshake.protocol, handshake.output).toBeUndefined();
    // The client sent its ClientHello (with a certificate that would have
    // verified, nothing would have failed on its side)…
    expect(handshake.output).not.toMatch(/no protocols available|unsupported protocol|no ciphers available/i);
    // …and the server answered with a protocol_version alert (70).
    expect(handshake.output, handshake.output).toMatch(/alert protocol version|SSL alert number 70/);
  });
});

describe("certificate chain", () => {
  test("-showcerts: the complete chain (leaf, then Pebble's intermediate) and a verified path to the root", async () => {
    const handshake = sClient("-showcerts");
    expect(handshake.exitCode, handshake.output).toBe(0);
    expect(handshake.output).toContain("Verify return code: 0 (ok)");
    // The "Certificate chain" block lists each certificate the server sent, with its PEM.
    const chain = handshake.output.slice(handshake.output.indexOf("Certificate chain"), handshake.output.indexOf("Server certificate"));
    const sent = chain.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
    expect(sent, chain).toHaveLength(2);
    expect(chain).toMatch(new RegExp(`^ 0 s:.*CN\\s*=\\s*${DOMAIN.replace(/\./g, "\\.")}`, "m"));
    expect(chain).toMatch(/^ 1 s:.*Pebble Intermediate CA/m);
    // The intermediate sent is the one Pebble issues from now.
    const intermediate = (await pebble.intermediate()).trim();
    const pems = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(pems[1]?.trim()).toBe(intermediate);
  });
});
