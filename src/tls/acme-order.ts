import { isIP } from "node:net";
import type { Logger } from "../log/index.ts";
import type { Storage } from "../storage/storage.ts";
import { AcmeAccount } from "./acme-account.ts";
import { AcmeError, createCertificateKey, createCsr, type AcmeChallenge, type AcmeOrder } from "./acme-client.ts";
import { certId } from "./cert-id.ts";
import { inspectCertificate, type CertificateBundle } from "./certificate.ts";
import type { ChallengeSolver, PresentedChallenge } from "./solvers.ts";

/** How to reach the CA and what to ask it for: the ACME part of the configuration. */
export interface AcmeSettings {
  directoryUrl: string;
  email?: string;
  /** External account binding, for CAs that require it. The HMAC key is a secret: never logged. */
  eab?: { kid: string; hmacKey: string };
  profile?: string;
  keyType: "ecdsa" | "rsa";
  /** Per-request timeout towards the CA. */
  timeoutMs?: number;
  /** How long to wait for the CA to validate or to issue, in total. */
  pollTimeoutMs?: number;
}

export interface OrderSettings extends AcmeSettings {
  domains: readonly string[];
  /** The certificate this order renews: named in `replaces` where the CA offers ARI (RFC 9773). */
  replacing?: CertificateBundle;
  /** Where the account lives (solvers publish through their own). */
  storage: Storage;
  /** How to answer the CA's challenges, in order of preference. */
  solvers: readonly ChallengeSolver[];
  logger: Logger;
  /** Observes each step that matters; test entry points install crash points here. */
  onStep?: StepObserver;
}

/** The steps of an order, and `stored`, reported by the issuer once the certificate is in storage. */
export type OrderStep = "account" | "order" | "challenge-published" | "challenge-validated" | "finalized" | "downloaded" | "stored";

export type StepObserver = (step: OrderStep) => void | Promise<void>;

/**
 * Orders a certificate for `domains` over ACME and returns it with a fresh
 * key; storing it is the caller's business (the issuer's, under its lock).
 *
 * Authorizations the CA already holds as valid need no challenge; for the
 * others, the first solver whose challenge type the CA offers publishes the
 * answer, which is withdrawn again whatever happens.
 *
 * @throws AcmeError with the CA's problem document (type, detail, Retry-After) when there was one.
 */
export async function orderCertificate(settings: OrderSettings): Promise<CertificateBundle> {
  const { logger, domains, directoryUrl } = settings;
  const step = async (name: OrderStep) => settings.onStep?.(name);

  const account = await AcmeAccount.open(settings);
  await step("account");

  const order = await placeOrder(account, settings);
  logger.info("certificate ordered", { names: domains.join(","), order: (order as { url?: string }).url });
  await step("order");

  // After the order: placing it may have registered the account again.
  const client = account.client;
  const authorizations = await client.getAuthorizations(order);
  const presented: [ChallengeSolver, PresentedChallenge][] = [];
  try {
    // Every answer is published first, then waited for together, then
    // validated: a DNS-01 record takes its time to reach every name server,
    // and one wait for all is much shorter than one wait per name.
    const pending: { name: string; solver: ChallengeSolver; challenge: AcmeChallenge; answer: PresentedChallenge }[] = [];
    for (const authz of authorizations) {
      const name = authz.identifier.value;
      if (authz.status === "valid") {
        logger.info("authorization already valid; no challenge needed", { name });
        continue;
      }
      const offered = settings.solvers
        .map((solver) => [solver, authz.challenges.find((c) => c.type === solver.type)] as const)
        .find(([, challenge]) => challenge !== undefined);
      if (!offered) throw new AcmeError(`the CA offers no ${settings.solvers.map((s) => s.type).join(" or ")} challenge for ${name}`);
      const [solver, challenge] = offered;
      const answer = { identifier: name, token: challenge!.token, keyAuthorization: await client.keyAuthorization(challenge!) };
      await solver.present(answer);
      presented.push([solver, answer]);
      pending.push({ name, solver, challenge: challenge!, answer });
      await step("challenge-published");
    }
    await Promise.all(pending.map(({ solver, answer }) => solver.wait?.(answer)));
    for (const { name, challenge } of pending) {
      await client.validate(challenge);
      logger.info("authorization valid", { name });
      await step("challenge-validated");
    }

    const keyPem = await createCertificateKey(settings.keyType);
    const finalized = await client.finalizeOrder(order, await createCsr(domains, keyPem));
    await step("finalized");
    const certPem = await client.getCertificate(finalized);
    await step("downloaded");
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
    await Promise.all(presented.map(([solver, answer]) => solver.cleanUp(answer).catch(() => {})));
  }
}

/**
 * Places the order, with the profile and, for a renewal where the CA offers
 * ARI, `replaces`. A profile the CA's directory does not list fails here,
 * with the ones it does; a `replaces` the CA refuses (the certificate was
 * already replaced, or is unknown to it) is dropped and the order placed
 * again without it, since a renewal matters more than its bookkeeping.
 */
async function placeOrder(account: AcmeAccount, settings: OrderSettings): Promise<AcmeOrder> {
  const { domains, profile, replacing, logger } = settings;
  const directory = await account.client.directory();
  const profiles = directory.meta?.profiles;
  if (profile && profiles && !(profile in profiles)) {
    throw new AcmeError(`the CA offers no certificate profile "${profile}" (it offers ${Object.keys(profiles).join(", ") || "none"}): check MCP_ACME_PROFILE`);
  }
  if (profile && !profiles) logger.warn("the CA lists no certificate profiles; asking for the profile anyway", { profile });
  // An IP address is an `ip` identifier (RFC 8738), not a DNS name.
  const identifiers = domains.map((value) => ({ type: isIP(value) ? ("ip" as const) : ("dns" as const), value }));
  const request = { identifiers, ...(profile ? { profile } : {}) };
  const replaces = replacing && directory.renewalInfo ? certIdOf(replacing) : undefined;
  if (!replaces) return await account.createOrder(request);
  try {
    return await account.createOrder({ ...request, replaces });
  } catch (error) {
    if (!(error instanceof AcmeError) || error.problem?.status === undefined || error.problem.status >= 500 || error.type === "rateLimited") throw error;
    logger.warn("the CA refused the order's replaces field; ordering without it", { replaces, problem: error.problem.type, reason: error.message });
    return await account.createOrder(request);
  }
}

/** The CertID of a certificate, or nothing when it cannot be named (no AKI). */
function certIdOf(bundle: CertificateBundle): string | undefined {
  try {
    return certId(bundle.certPem);
  } catch {
    return undefined;
  }
}
