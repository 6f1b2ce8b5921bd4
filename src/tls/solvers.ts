import type { Logger } from "../log/index.ts";
import type { Storage } from "../storage/storage.ts";
import { AcmeError } from "./acme-client.ts";
import { certificateKeys } from "./bundle.ts";

/** What the CA asks to see for one identifier, as a solver gets it. */
export interface PresentedChallenge {
  /** The identifier being validated, such as `docs.example.com`. */
  identifier: string;
  token: string;
  /** The answer the CA expects (for DNS-01, acme-client gives its digest). */
  keyAuthorization: string;
}

/**
 * Proves control of an identifier to the CA in one way (one challenge
 * type), in the manner of certmagic's and acmez's solvers. The order
 * (acme-order.ts) takes a list of them and uses the first whose type the CA
 * offers: HTTP-01 here, DNS-01 in dns/dns01-solver.ts (through RFC 2136 or
 * a hook command); challenges.ts picks them from the settings.
 */
export interface ChallengeSolver {
  /** The ACME challenge type it answers, such as `http-01`. */
  readonly type: string;
  /** Publishes the answer. @throws when it cannot (the order fails, and is retried with backoff). */
  present(challenge: PresentedChallenge): Promise<void>;
  /**
   * Resolves once the CA will be able to see the answer (HTTP-01: it is
   * served; DNS-01: it has propagated), before the CA is asked to look.
   * @throws when it will not, with a reason for the operator: a failed
   * validation at the CA costs more than a failed check here.
   */
  wait?(challenge: PresentedChallenge): Promise<void>;
  /** Removes what `present` published; called for every presented challenge, whatever happened. Failures are ignored. */
  cleanUp(challenge: PresentedChallenge): Promise<void>;
}

export interface Http01SolverOptions {
  /** Where the key authorization is published: any process sharing it answers the CA (challenge-responder.ts). */
  storage: Storage;
  /** Port of our HTTP-01 responder, checked over loopback before the CA is asked to validate. */
  port: number;
  logger: Logger;
}

/**
 * HTTP-01: the key authorization is stored under `challenges/<token>`, where
 * every port-80 responder sharing the storage finds it.
 *
 * @example
 * const solvers = [http01Solver({ storage, port: 80, logger })];
 */
export function http01Solver(options: Http01SolverOptions): ChallengeSolver {
  const { storage, port, logger } = options;
  return {
    type: "http-01",
    async present({ token, keyAuthorization }) {
      await storage.store(certificateKeys.challenge(token), keyAuthorization);
    },
    async wait({ identifier, token, keyAuthorization }) {
      await checkResponder(port, identifier, token, keyAuthorization);
      logger.info("challenge published and answered over loopback; asking the CA to validate", { name: identifier });
    },
    async cleanUp({ token }) {
      await storage.delete(certificateKeys.challenge(token));
    },
  };
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
