/**
 * Proves the Pebble harness end to end with acme-client driven by hand (no
 * `client.auto()` / `verifyChallenge()`: both resolve the name through the
 * system resolver and would hang on `.test` names): account, order, HTTP-01,
 * finalize, download, and a chain that verifies against Pebble's current root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import acme from "acme-client";
import type { Authorization, Client as AcmeClient } from "acme-client";
import { X509Certificate } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { Agent } from "node:https";
import { join } from "node:path";
import { freePort, startPebble, type Pebble } from "./pebble.ts";
import { rejection } from "./wait.ts";

const NAME = "docs.example.test";
// Some CI containers run with IPv6 disabled: the ::1 test cannot mean anything there.
const hasIpv6Loopback = await freePort("::1").then(
  () => true,
  () => false,
);
const ACCOUNT_DOES_NOT_EXIST = "urn:ietf:params:acme:error:accountDoesNotExist";

/** acme-client's private axios knobs (not in its typings). */
interface AcmeSettings {
  retryMaxAttempts: number;
  retryDefaultDelay: number;
}
const axiosDefaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings: AcmeSettings };

/**
 * Problem documents the CA sent, recorded by an axios interceptor: acme-client
 * throws `new Error(detail)` and drops the problem `type`, so this is the only
 * way to see it from outside.
 */
const problems: { status: number; type: string; detail: string }[] = [];

// acme-client's axios instance is a process-wide singleton shared with other test
// files: change it for this file only and put everything back afterwards.
const saved = {
  timeout: axiosDefaults.timeout,
  httpsAgent: axiosDefaults.httpsAgent as unknown,
  acmeSettings: { ...axiosDefaults.acmeSettings },
};
let interceptor: number | undefined;

/**
 * Client with short status polling: acme-client's default backoff starts at 5 s,
 * and Pebble usually still says "pending"/"processing" on the first poll.
 */
function newClient(directoryUrl: string, accountKey: Buffer, accountUrl?: string): AcmeClient {
  return new acme.Client({ directoryUrl, accountKey, accountUrl, backoffAttempts: 40, backoffMin: 25, backoffMax: 250 });
}

function trustPebble(pebble: Pebble): void {
  // Bun reads NODE_EXTRA_CA_CERTS only at start-up, so in-process code passes the CA itself.
  axiosDefaults.httpsAgent = new Agent({ ca: pebble.caCertPem });
}

/** A minimal HTTP-01 responder on `hostname`:`port`: token -> key authorization. */
function startResponder(hostname: string, port: number): { tokens: Map<string, string>; hits: string[]; stop: () => void } {
  const tokens = new Map<string, string>();
  const hits: string[] = [];
  const server = Bun.serve({
    hostname,
    port,
    fetch(request) {
      const match = /^\/\.well-known\/acme-challenge\/([^/]+)$/.exec(new URL(request.url).pathname);
      const keyAuthorization = match ? tokens.get(match[1]!) : undefined;
      hits.push(`${request.method} ${new URL(request.url).pathname} ${keyAuthorization ? 200 : 404}`);
      return keyAuthorization ? new Response(keyAuthorization) : new Response("not found", { status: 404 });
    },
  });
  return { tokens, hits, stop: () => void server.stop(true) };
}

/** One order, solved over HTTP-01 where the CA did not reuse a valid authorization. */
async function issue(
  client: AcmeClient,
  tokens: Map<string, string>,
  name: string,
): Promise<{ chain: string; authorizations: Authorization[] }> {
  const order = await client.createOrder({ identifiers: [{ type: "dns", value: name }] });
  const authorizations = await client.getAuthorizations(order);
  for (const authz of authorizations) {
    if (authz.status === "valid") continue; // Pebble reuses valid authorizations (PEBBLE_AUTHZREUSE)
    const challenge = authz.challenges.find((c) => c.type === "http-01");
    if (!challenge) throw new Error(`no http-01 challenge for ${authz.identifier.value}`);
    tokens.set(challenge.token, await client.getChallengeKeyAuthorization(challenge));
    try {
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    } finally {
      tokens.delete(challenge.token);
    }
  }
  const certKey = await acme.crypto.createPrivateEcdsaKey("P-256");
  // Pass the key: without it createCsr silently generates an RSA key.
  const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, certKey);
  const finalized = await client.finalizeOrder(order, csr);
  return { chain: await client.getCertificate(finalized), authorizations };
}

beforeAll(() => {
  axiosDefaults.timeout = 10_000;
  // 429/5xx/network errors: acme-client sleeps retryDefaultDelay × attempt seconds
  // (or Retry-After) up to retryMaxAttempts times. badNonce is retried elsewhere
  // (HttpClient.signedRequest, 5 times, immediately), so this does not affect it.
  axiosDefaults.acmeSettings.retryMaxAttempts = 1;
  axiosDefaults.acmeSettings.retryDefaultDelay = 0;
  interceptor = acme.axios.interceptors.response.use((response) => {
    const data = response.data as { type?: unknown; detail?: unknown } | undefined;
    if (response.status >= 400 && typeof data?.type === "string") {
      problems.push({ status: response.status, type: data.type, detail: String(data.detail ?? "") });
    }
    return response;
  });
});

afterAll(() => {
  if (interceptor !== undefined) acme.axios.interceptors.response.eject(interceptor);
  axiosDefaults.timeout = saved.timeout;
  axiosDefaults.httpsAgent = saved.httpsAgent as typeof axiosDefaults.httpsAgent;
  Object.assign(axiosDefaults.acmeSettings, saved.acmeSettings);
});

describe("pebble harness: issuance", () => {
  let pebble: Pebble;
  let responder: ReturnType<typeof startResponder>;

  beforeAll(async () => {
    const httpPort = await freePort();
    // authzReuse 100 makes the second order below take the "already valid" branch every time.
    pebble = await startPebble({ httpPort, certificateValidityPeriod: 3600, authzReuse: 100 });
    // IPv4 only on purpose: proves the default DNS (A records only) suits a product bound to 127.0.0.1.
    responder = startResponder("127.0.0.1", httpPort);
    trustPebble(pebble);
  });

  afterAll(async () => {
    responder?.stop();
    await pebble?.stop();
  });

  test("issues a P-256 certificate over HTTP-01 that chains to the current root", async () => {
    const accountKey = await acme.crypto.createPrivateEcdsaKey("P-256");
    const client = newClient(pebble.directoryUrl, accountKey);
    const account = await client.createAccount({ termsOfServiceAgreed: true });
    expect(account.status).toBe("valid");

    const { chain, authorizations } = await issue(client, responder.tokens, NAME);
    expect(authorizations.map((a) => a.status)).toEqual(["pending"]);
    expect(responder.hits.some((hit) => hit.endsWith(" 200"))).toBe(true);

    const [leafPem, intermediatePem] = acme.crypto.splitPemChain(chain);
    const leaf = new X509Certificate(leafPem!);
    const intermediate = new X509Certificate(intermediatePem!);
    const root = new X509Certificate(await pebble.root());
    expect(leaf.subjectAltName).toContain(`DNS:${NAME}`);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(intermediate)).toBe(true);
    expect(intermediate.checkIssued(root)).toBe(true);
    expect(intermediate.fingerprint256).toBe(new X509Certificate(await pebble.intermediate()).fingerprint256);
    // certificateValidityPeriod reached Pebble (Go's inclusive notAfter adds at most a second).
    const lifetimeSeconds = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
    expect(Math.abs(lifetimeSeconds - 3600)).toBeLessThanOrEqual(1);

    expect(pebble.accountsCreated()).toBe(1);
    expect(pebble.ordersPlaced()).toBe(1);

    // Second order for the same name: the authorization is reused, no challenge is served.
    const hitsBefore = responder.hits.length;
    const second = await issue(client, responder.tokens, NAME);
    expect(second.authorizations.map((a) => a.status)).toEqual(["valid"]);
    expect(responder.hits.length).toBe(hitsBefore);
    expect(pebble.ordersPlaced()).toBe(2);
    expect(pebble.certificatesIssued()).toBe(2);

    // Looking an existing account up by key (as after a product restart) does not create one.
    const lookup = newClient(pebble.directoryUrl, accountKey);
    await lookup.createAccount({ onlyReturnExisting: true });
    expect(lookup.getAccountUrl()).toBe(client.getAccountUrl());
    expect(pebble.accountsCreated()).toBe(1);

    // acme-client quirk: for a known key (HTTP 200 from newAccount) createAccount(data)
    // re-sends `data` as an account update, and Pebble rejects an update that changes
    // nothing. Only an empty payload / onlyReturnExisting is a safe look-up.
    const again = await newClient(pebble.directoryUrl, accountKey)
      .createAccount({ termsOfServiceAgreed: true })
      .catch((error: unknown) => error);
    expect((again as Error).message).toBe("Use POST-as-GET to retrieve account data instead of doing an empty update");
    expect(pebble.accountsCreated()).toBe(1);
  });

  test("challtestsrv answers every name with 127.0.0.1 and no AAAA by default", async () => {
    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${pebble.dnsPort}`]);
    expect(await resolver.resolve4("anything.example.test")).toEqual(["127.0.0.1"]);
    expect(await resolver.resolve6(NAME).catch((error: { code?: string }) => error.code)).toBe("ENOTFOUND");
  });

  test.skipIf(!hasIpv6Loopback)("ipv6: true adds AAAA ::1 and the VA then validates over IPv6", async () => {
    const httpPort = await freePort("::1");
    await using ipv6 = await startPebble({ httpPort, ipv6: true });
    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${ipv6.dnsPort}`]);
    expect(await resolver.resolve6(NAME)).toEqual(["::1"]);
    const v6Responder = startResponder("::1", httpPort);
    try {
      trustPebble(ipv6);
      const client = newClient(ipv6.directoryUrl, await acme.crypto.createPrivateEcdsaKey("P-256"));
      await client.createAccount({ termsOfServiceAgreed: true });
      const { chain } = await issue(client, v6Responder.tokens, NAME);
      expect(new X509Certificate(acme.crypto.splitPemChain(chain)[0]!).subjectAltName).toContain(`DNS:${NAME}`);
    } finally {
      v6Responder.stop();
      trustPebble(pebble);
    }
  });

  test("a child Bun process trusts Pebble's listener through NODE_EXTRA_CA_CERTS, for fetch and acme-client", async () => {
    const script = [
      'import acme from "acme-client";',
      "acme.axios.defaults.acmeSettings.retryMaxAttempts = 0;",
      "acme.axios.defaults.timeout = 5000;",
      "const url = process.env.DIRECTORY_URL;",
      "const outcome = async (work) => { try { await work(); return \"ok\"; } catch (e) { return `${e?.constructor?.name}: ${e?.code ?? e?.message}`; } };",
      "const client = new acme.Client({ directoryUrl: url, accountKey: await acme.crypto.createPrivateEcdsaKey() });",
      "console.log(JSON.stringify({",
      "  fetch: await outcome(async () => { const r = await fetch(url); if (!r.ok) throw new Error(`HTTP ${r.status}`); }),",
      "  acme: await outcome(() => client.getTermsOfServiceUrl()),",
      "}));",
    ].join("\n");
    const run = async (extraCa: string | undefined): Promise<{ fetch: string; acme: string }> => {
      const env: Record<string, string | undefined> = { ...process.env, DIRECTORY_URL: pebble.directoryUrl, NODE_EXTRA_CA_CERTS: extraCa };
      const child = Bun.spawn([process.execPath, "-e", script], { cwd: join(import.meta.dir, "..", ".."), env, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
      if ((await child.exited) !== 0) throw new Error(`child failed: ${stderr}`);
      return JSON.parse(stdout) as { fetch: string; acme: string };
    };

    expect(await run(pebble.caCertPath)).toEqual({ fetch: "ok", acme: "ok" });
    // Control: without it neither trusts the listener. acme-client 5.4 loses the TLS
    // error (its retry interceptor dereferences the missing response): a TypeError.
    const untrusted = await run(undefined);
    expect(untrusted.fetch).toContain("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    expect(untrusted.acme).toStartWith("TypeError");
  });
});

describe("pebble harness: restart, crash, hang", () => {
  let pebble: Pebble;

  beforeAll(async () => {
    pebble = await startPebble({ httpPort: await freePort() });
    trustPebble(pebble);
  });

  afterAll(async () => {
    await pebble?.stop();
  });

  test("restart() makes a new root and forgets the account", async () => {
    const accountKey = await acme.crypto.createPrivateEcdsaKey("P-256");
    const client = newClient(pebble.directoryUrl, accountKey);
    await client.createAccount({ termsOfServiceAgreed: true });
    const accountUrl = client.getAccountUrl();
    const rootBefore = await pebble.root();

    await pebble.restart();

    expect(await pebble.root()).not.toBe(rootBefore);
    expect(new X509Certificate(await pebble.root()).subject).not.toBe(new X509Certificate(rootBefore).subject);

    // Look-up by key (newAccount with onlyReturnExisting), as a fresh process would do.
    problems.length = 0;
    const lookup = newClient(pebble.directoryUrl, accountKey);
    const lookupError = await lookup.createAccount({ onlyReturnExisting: true }).catch((error: unknown) => error);
    expect(lookupError).toBeInstanceOf(Error);
    expect(Object.keys(lookupError as object)).toEqual([]); // no type/status: only the message
    expect((lookupError as Error).message).toBe("unable to find existing account for only-return-existing request");
    expect(problems.at(-1)).toMatchObject({ status: 400, type: ACCOUNT_DOES_NOT_EXIST });

    // An authenticated request with the remembered account URL (kid).
    problems.length = 0;
    const remembered = newClient(pebble.directoryUrl, accountKey, accountUrl);
    const orderError = await remembered.createOrder({ identifiers: [{ type: "dns", value: NAME }] }).catch((error: unknown) => error);
    expect(orderError).toBeInstanceOf(Error);
    expect((orderError as Error).message).toMatch(/^Account .* not found\.$/);
    expect(problems.at(-1)).toMatchObject({ type: ACCOUNT_DOES_NOT_EXIST });

    expect(pebble.ordersPlaced()).toBe(0);
    expect(pebble.logs()).toContain("restarting pebble");
  });

  test("pause() hangs the CA until resume(); kill() takes it down until restart()", async () => {
    const client = newClient(pebble.directoryUrl, await acme.crypto.createPrivateEcdsaKey("P-256"));
    axiosDefaults.timeout = 300;
    try {
      pebble.pause();
      // A paused CA never answers, so only the client's own timeout can end
      // this call: its rejection is the proof (acme-client 5.4 turns the
      // axios timeout, ECONNABORTED, into this TypeError too).
      const hung = await rejection(client.getTermsOfServiceUrl(), "a request to the paused CA");
      expect(hung).toBeInstanceOf(TypeError);
      expect(await pebble.root()).toContain("BEGIN CERTIFICATE"); // cached: works while paused
      pebble.resume();
      expect(await client.getTermsOfServiceUrl()).toStartWith("data:");

      pebble.kill();
      const down = await newClient(pebble.directoryUrl, await acme.crypto.createPrivateEcdsaKey("P-256"))
        .getTermsOfServiceUrl()
        .catch((error: unknown) => error);
      expect(down).toBeInstanceOf(TypeError);
    } finally {
      axiosDefaults.timeout = 10_000;
    }
    await pebble.restart();
    expect(await newClient(pebble.directoryUrl, await acme.crypto.createPrivateEcdsaKey("P-256")).getTermsOfServiceUrl()).toStartWith("data:");
  });
});
