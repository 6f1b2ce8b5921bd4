import type { Logger } from "../../log/index.ts";
import type { ChallengeSolver } from "../solvers.ts";
import type { TxtPublisher } from "./publisher.ts";

export interface Dns01SolverOptions {
  publisher: TxtPublisher;
  /** Resolves once the record is visible where the CA will look (propagation.ts). */
  propagation: { wait(record: { name: string; value: string; domain: string }): Promise<void> };
  logger: Logger;
}

/**
 * DNS-01 (RFC 8555 §8.4): the key authorization's digest as a TXT record at
 * `_acme-challenge.<name>`, published by `publisher`, waited for at the
 * zone's authoritative servers before the CA is asked, and removed after.
 * A wildcard's authorization names its base (`*.docs.example.com` is
 * validated at `_acme-challenge.docs.example.com`), so the base name and
 * its wildcard put two values on one name.
 *
 * @example
 * const solvers = [dns01Solver({ publisher: rfc2136Publisher({ server, key }), propagation: propagationCheck({ logger }), logger })];
 */
export function dns01Solver(options: Dns01SolverOptions): ChallengeSolver {
  const { publisher, propagation, logger } = options;
  const record = ({ identifier, keyAuthorization }: { identifier: string; keyAuthorization: string }) => ({
    name: `_acme-challenge.${identifier.replace(/^\*\./, "")}`,
    value: keyAuthorization,
    domain: identifier,
  });
  return {
    type: "dns-01",
    async present(challenge) {
      const txt = record(challenge);
      await publisher.add(txt);
      logger.info("DNS-01 record published", { name: txt.name, via: publisher.description });
    },
    async wait(challenge) {
      await propagation.wait(record(challenge));
    },
    async cleanUp(challenge) {
      const txt = record(challenge);
      await publisher.remove(txt).catch((error) => {
        logger.warn("could not remove the DNS-01 record; remove it by hand", { name: txt.name, reason: (error as Error).message });
      });
    },
  };
}
