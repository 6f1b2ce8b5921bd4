import type { Logger } from "../log/index.ts";
import type { Storage } from "../storage/storage.ts";
import { AcmeError, loadAcme, withProblems } from "./acme-http.ts";
import { inspectCertificate, type CertificateBundle } from "./certificate.ts";
import { challengeKey } from "./challenge-responder.ts";
import { directoryId } from "./directory.ts";

export interface OrderSettings {
  directoryUrl: string;
  domains: readonly string[];
  email?: string;
  /** External account binding, for CAs that require it. The HMAC key is a secret: never logged. */
  eab?: { kid: string; hmacKey: string };
  profile?: string;
  keyType: "ecdsa" | "rsa";
  storage: Storage;
  /** Port of our HTTP-01 responder, checked over loopback before the CA is asked to validate. */
  acmePort: number;
  logger: Logger;
  /** Per-request timeout towards the CA. */
  timeoutMs?: number;
  /** How long to wait for the CA to validate or to issue, in total. */
  pollTimeoutMs?: number;
  /** Test seam: called at each step that matters; a crash test kills the process there. */
  onStep?: (step: OrderStep) => void | Promise<void>;
}

export type OrderStep = "account" | "order" | "challenge-published" | "challenge-validated" | "finalized" | "downloaded" | "stored";

interface StoredAccount {
  url: string;
  email?: string;
}

const accountKeyPath = (dir: string) => `acme/${directoryId(dir)}/account.key.pem`;
const accountPath = (dir: string) => `acme/${directoryId(dir)}/account.json`;

/**
 * Orders a certificate for `domains` over ACME with HTTP-01 challenges and
 * returns it with a fresh key; storing it is the caller's business (under
 * its lock).
 *
 * The account key and URL are kept in storage per CA directory and reused;
 * an account the CA no longer knows is registered again with the same key.
 * Authorizations the CA already holds as valid need no challenge.
 *
 * @throws AcmeError with the CA's problem document (type, detail, Retry-After) when there was one.
 */
export async function orderCertificate(settings: OrderSettings): Promise<CertificateBundle> {
  const { storage, logger, domains, directoryUrl } = settings;
  const step = async (name: OrderStep) => settings.onStep?.(name);
  const acme = await loadAcme({ timeoutMs: settings.timeoutMs ?? 15_000 });

  // The key is stored before the account is registered, so a crash in
  // between cannot leave an account at the CA whose key we lost.
  let accountKey = await storage.load(accountKeyPath(directoryUrl));
  if (!accountKey) {
    accountKey = (await acme.crypto.createPrivateEcdsaKey("P-256")).toString();
    await storage.store(accountKeyPath(directoryUrl), accountKey, { secret: true });
    logger.info("created ACME account key", { directory: directoryUrl });
  }
  const stored = await storage.load(accountPath(directoryUrl)).then((text) => (text ? (JSON.parse(text) as StoredAccount) : undefined));

  const pollMs = settings.pollTimeoutMs ?? 120_000;
  const newClient = (accountUrl?: string) =>
    new acme.Client({
      directoryUrl,
      accountKey: accountKey!,
      accountUrl,
      externalAccountBinding: settings.eab ? { kid: settings.eab.kid, hmacKey: settings.eab.hmacKey } : undefined,
      // Poll the CA from 0.5 s up to 8 s between attempts: fast against a
      // local CA, gentle on Let's Encrypt; the attempts bound the total wait.
      backoffMin: 500,
      backoffMax: 8_000,
      backoffAttempts: Math.max(3, Math.ceil(pollMs / 8_000) + 4),
    });

  const register = async () => {
    const client = newClient();
    await withProblems(() =>
      client.createAccount({ termsOfServiceAgreed: true, ...(settings.email ? { contact: [`mailto:${settings.email}`] } : {}) }),
    );
    const url = client.getAccountUrl();
    await storage.store(accountPath(directoryUrl), JSON.stringify({ url, email: settings.email } satisfies StoredAccount));
    logger.info("ACME account ready", { directory: directoryUrl, account: url });
    return client;
  };

  let client = stored && stored.email === settings.email ? newClient(stored.url) : await register();
  await step("account");

  const identifiers = domains.map((value) => ({ type: "dns" as const, value }));
  const orderRequest = { identifiers, ...(settings.profile ? { profile: settings.profile } : {}) };
  let order;
  try {
    order = await withProblems(() => client.createOrder(orderRequest));
  } catch (error) {
    if (!(error instanceof AcmeError && error.type === "accountDoesNotExist")) throw error;
    // The CA forgot us (a reset test CA, a deactivated account): register
    // again with the same key, then order.
    logger.warn("the CA no longer knows the ACME account; registering again with the same key", { directory: directoryUrl });
    client = await register();
    order = await withProblems(() => client.createOrder(orderRequest));
  }
  logger.info("certificate ordered", { names: domains.join(","), order: (order as { url?: string }).url });
  await step("order");

  const authorizations = await withProblems(() => client.getAuthorizations(order));
  const published: string[] = [];
  try {
    for (const authz of authorizations) {
      const name = authz.identifier.value;
      if (authz.status === "valid") {
        logger.info("authorization already valid; no challenge needed", { name });
        continue;
      }
      const challenge = authz.challenges.find((c) => c.type === "http-01");
      if (!challenge) throw new AcmeError(`the CA offers no http-01 challenge for ${name}`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      await storage.store(challengeKey(challenge.token), keyAuthorization);
      published.push(challenge.token);
      await step("challenge-published");
      await checkResponder(settings.acmePort, name, challenge.token, keyAuthorization);
      logger.info("challenge published and answered over loopback; asking the CA to validate", { name });
      await withProblems(() => client.completeChallenge(challenge));
      await withProblems(() => client.waitForValidStatus(challenge));
      logger.info("authorization valid", { name });
      await step("challenge-validated");
    }

    const certificateKey =
      settings.keyType === "rsa" ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey("P-256");
    // createCsr makes an RSA key of its own when none is passed: pass ours.
    const [, csr] = await acme.crypto.createCsr({ commonName: domains[0], altNames: [...domains] }, certificateKey);
    const finalized = await withProblems(() => client.finalizeOrder(order, csr));
    await step("finalized");
    const certPem = await withProblems(() => client.getCertificate(finalized));
    await step("downloaded");
    const keyPem = certificateKey.toString();
    const info = inspectCertificate(certPem, keyPem);
    logger.info("certificate issued", { names: info.names.join(","), issuer: info.issuer, notAfter: info.notAfter.toISOString() });
    return {
      certPem,
      keyPem,
      info,
      meta: {
        directoryUrl,
        names: info.names,
        issuedAt: new Date().toISOString(),
        notAfter: info.notAfter.toISOString(),
        keyType: settings.keyType,
      },
    };
  } finally {
    await Promise.all(published.map((token) => storage.delete(challengeKey(token)).catch(() => {})));
  }
}

/**
 * Fetches our own challenge response over loopback, with the domain as Host,
 * before the CA is asked to: a responder that is not up or not reachable
 * fails here, in a second, with a clear message, instead of costing a failed
 * validation at the CA. (acme-client's own check resolves the public name and
 * has no timeout: it hangs in tests and behind NAT.)
 */
async function checkResponder(port: number, name: string, token: string, expected: string): Promise<void> {
  const path = `/.well-known/acme-challenge/${token}`;
  let last = "";
  for (const host of ["127.0.0.1", "[::1]"]) {
    try {
      const response = await fetch(`http://${host}:${port}${path}`, { headers: { Host: name }, signal: AbortSignal.timeout(3_000) });
      const body = await response.text();
      if (response.ok && body.trim() === expected) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
  }
  throw new AcmeError(`the HTTP-01 responder on port ${port} did not answer the challenge over loopback (${last}); is MCP_ACME_PORT bound by this server?`);
}
