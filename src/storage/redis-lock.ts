import type { Lock } from "./storage.ts";
import type { Connection } from "./redis-connection.ts";

/** Extends a lock's lease if it still carries our token. KEYS: lock. ARGV: token, ttl ms. */
const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** Deletes a lock only if it still carries our token. KEYS: lock. ARGV: token. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** A lock held through `RedisStorage.tryLock`. */
export class RedisLock implements Lock {
  readonly name: string;
  readonly #key: string;
  readonly #token: string;
  readonly #ttl: string;
  readonly #connection: Connection;
  #released = false;

  constructor(name: string, key: string, token: string, ttl: string, connection: Connection) {
    this.name = name;
    this.#key = key;
    this.#token = token;
    this.#ttl = ttl;
    this.#connection = connection;
  }

  /**
   * Sets the lease to the ttl from now, in one script that first checks the
   * token. `false` when the lock expired (and maybe was taken by another
   * holder), and always after `release()`.
   * @throws RedisUnavailableError.
   */
  async renew(): Promise<boolean> {
    if (this.#released) return false;
    const reply = await this.#connection.send("EVAL", [RENEW_SCRIPT, "1", this.#key, this.#token, this.#ttl]);
    return Number(reply) === 1;
  }

  /**
   * Compare-and-delete in one script: never removes another holder's lock.
   * Idempotent. @throws RedisUnavailableError (the lock then expires on its own;
   * calling `release()` again retries).
   */
  async release(): Promise<void> {
    if (this.#released) return;
    await this.#connection.send("EVAL", [RELEASE_SCRIPT, "1", this.#key, this.#token]);
    this.#released = true;
  }
}
