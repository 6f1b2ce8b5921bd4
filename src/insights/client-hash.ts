import { createHmac, randomBytes } from "node:crypto";

/**
 * Who asked, as insights know it: a keyed hash (HMAC-SHA-256, 96 bits kept)
 * of the HTTP layer's client key (an IPv4 address or an IPv6 prefix). With
 * the key secret, a hash cannot be turned back into an address, even by
 * trying every IPv4 address; so insights can count distinct clients without
 * ever holding an address. The key is random per process, or shared through
 * storage between replicas (shared-insights.ts), so that one client asking
 * two replicas is still one client.
 */
export class ClientHasher {
  #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  /** Replaces the key (a replica adopting the shared one); earlier hashes no longer compare. */
  rekey(key: Buffer): void {
    this.#key = key;
  }

  hash(client: string): string {
    return createHmac("sha256", this.#key).update(client).digest("base64url").slice(0, 16);
  }
}
