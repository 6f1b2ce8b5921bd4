import type { BundleNotifier, SubscribeOptions } from "./notifier.ts";
import type { BundleFile, Lock, Storage, StoreOptions } from "./storage.ts";
import { checkBundle, checkKey, checkName, checkTtl, checkValue, couldPrefixKey, keyProblem, SEGMENT } from "./keys.ts";
import { bundleContext, kvContext, ValueCodec } from "./redis-cipher.ts";
import { Connection, redactUrl } from "./redis-connection.ts";
import { RedisLock } from "./redis-lock.ts";
import { bundleEvent, Subscriber, type BundleListener } from "./redis-subscriber.ts";

/** Default for {@link RedisStorageOptions.namespace}. */
export const DEFAULT_NAMESPACE = "mcp-server";
/** Default for {@link RedisStorageOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** Default for {@link RedisStorageOptions.healthCheckMs}. */
export const DEFAULT_HEALTH_CHECK_MS = 10_000;

/** No `:` (it separates the parts of Redis keys) and nothing SCAN's MATCH would read as a pattern. */
const NAMESPACE = /^[A-Za-z0-9._@-]{1,100}$/;
const SCAN_COUNT = "1000";

/**
 * Replaces a bundle in one atomic step and announces it. The new fields go
 * into a scratch key first and are renamed over the bundle: HSET (the only
 * command here Redis may refuse, when out of memory) runs before anything
 * is removed, so a failure leaves the old bundle whole (a Lua script that
 * fails midway is not rolled back). No other client runs between the lines
 * of a script, so nobody ever sees the scratch key or a half bundle.
 * KEYS: bundle, scratch. ARGV: channel, message, field, value, ...
 */
const STORE_BUNDLE_SCRIPT = `
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`;

export interface RedisStorageOptions {
  /**
   * `redis://[[user]:password@]host:port[/db]` (also `rediss://` for TLS,
   * `redis+unix:///path`). Percent-encode special characters of the
   * password. The password never appears in `description` or in errors.
   */
  url: string;
  /**
   * Prefix of every Redis key and of the event channel: one per deployment
   * sharing a certificate (default {@link DEFAULT_NAMESPACE}). Letters,
   * digits and `. _ @ -` (no `:`), at most 100 characters.
   */
  namespace?: string;
  /**
   * Base64 of 32 random bytes (`openssl rand -base64 32`). When set, secret
   * values (`store(..., { secret: true })` and bundle files with
   * `secret: true`) are stored encrypted with AES-256-GCM, bound to their
   * key so they cannot be swapped. Every replica needs the same key. Values
   * stored encrypted cannot be read without it.
   */
  encryptionKey?: string;
  /**
   * Longest any one operation waits for Redis, connecting included, in ms
   * (default {@link DEFAULT_TIMEOUT_MS}). A stopped, unreachable or hung
   * Redis makes calls reject with a `RedisUnavailableError` within about
   * this time.
   */
  timeoutMs?: number;
  /** How often an idle subscription (see `subscribe`) pings Redis to notice a dead connection, in ms (default {@link DEFAULT_HEALTH_CHECK_MS}). */
  healthCheckMs?: number;
}

/**
 * `Storage` on Redis (or Valkey), shared by every replica that uses the same
 * Redis and namespace: one replica orders the certificate, all serve it.
 *
 * Layout, for namespace `<ns>`, one concept per file:
 * - a key `a/b` is the string `<ns>:kv:a/b` (here);
 * - a bundle `<name>` is the hash `<ns>:bundle:<name>` (one field per file),
 *   replaced atomically by a Lua script;
 * - a lock `<name>` is the string `<ns>:lock:<name>` holding a random token,
 *   with a Redis expiry (`SET NX PX`; redis-lock.ts);
 * - after each `storeBundle`, `bundle:<name>` is published on `<ns>:events`
 *   (see {@link subscribe} and redis-subscriber.ts).
 *
 * Keys, bundle names, file names and lock names follow `keys.ts`, as for
 * `FileStorage`: TypeError otherwise.
 *
 * Values are stored as they are, except secret ones when an
 * `encryptionKey` is set (`enc:v1:<iv>:<ciphertext>`), and plain values that
 * happen to start with `enc:` or `raw:` (stored with a `raw:` marker; see
 * redis-cipher.ts).
 *
 * Failures: a Redis that is down, unreachable or hung makes calls reject
 * with `RedisUnavailableError` (redis-connection.ts) within `timeoutMs`; the next call
 * connects again, so nothing needs to be recreated once Redis is back. An
 * error reply from Redis rejects with an Error naming the command. Nothing
 * is retried here: the caller retries.
 *
 * Needs Redis 6.2 or later (Bun's client speaks RESP3; tested with 7.0).
 * Not for Redis Cluster (a bundle's two keys may be on different nodes).
 * Redis must be private: anyone who can reach it can read the certificate
 * and (without `encryptionKey`) its private key, and take the locks.
 */
export class RedisStorage implements Storage, BundleNotifier {
  readonly description: string;
  readonly namespace: string;
  readonly #connection: Connection;
  readonly #codec: ValueCodec;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #healthCheckMs: number;
  readonly #listeners = new Set<BundleListener>();
  #subscriber: Subscriber | undefined;
  #closed = false;

  /** @throws TypeError on a malformed URL, namespace, encryption key or timeout. Does not connect: the first call does. */
  constructor(options: RedisStorageOptions) {
    const { url, namespace = DEFAULT_NAMESPACE, encryptionKey, timeoutMs = DEFAULT_TIMEOUT_MS, healthCheckMs = DEFAULT_HEALTH_CHECK_MS } = options;
    if (typeof namespace !== "string" || !NAMESPACE.test(namespace)) {
      throw new TypeError(`invalid redis namespace ${JSON.stringify(namespace)}: 1 to 100 of A-Z a-z 0-9 . _ @ -`);
    }
    for (const [name, value] of [["timeoutMs", timeoutMs], ["healthCheckMs", healthCheckMs]] as const) {
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
        throw new TypeError(`redis storage ${name} must be a positive number of milliseconds, got ${String(value)}`);
      }
    }
    this.namespace = namespace;
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#healthCheckMs = healthCheckMs;
    this.description = `${redactUrl(url)} (namespace ${namespace})`;
    this.#codec = new ValueCodec(encryptionKey, this.description);
    this.#connection = new Connection(url, timeoutMs, this.description);
  }

  /** Resolves `undefined` when the key does not exist. @throws RedisDecryptionError for an encrypted value that cannot be decrypted. */
  async load(key: string): Promise<string | undefined> {
    checkKey(key);
    const stored = await this.#connection.send("GET", [this.#kvKey(key)]);
    if (stored === null || stored === undefined) return undefined;
    return await this.#codec.decode(String(stored), kvContext(key));
  }

  /** `SET`: atomic. With `secret: true` and an `encryptionKey`, the value is stored encrypted. */
  async store(key: string, value: string, options: StoreOptions = {}): Promise<void> {
    checkKey(key);
    checkValue(key, value);
    const encoded = await this.#codec.encode(value, options.secret === true, kvContext(key));
    await this.#connection.send("SET", [this.#kvKey(key), encoded]);
  }

  /** Idempotent. */
  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#connection.send("DEL", [this.#kvKey(key)]);
  }

  /**
   * Keys that start with `prefix` (a plain string prefix), found with SCAN
   * (never KEYS, which blocks Redis). Bundles and locks are not keys. A
   * prefix no valid key can start with resolves `[]`. Like any SCAN, keys
   * stored or deleted during the call may or may not be listed.
   */
  async list(prefix: string): Promise<string[]> {
    if (!couldPrefixKey(prefix)) return [];
    const base = this.#kvKey("");
    // Neither the namespace nor the prefix can hold a glob character (* ? [ ] \), so MATCH needs no escaping.
    const pattern = `${base}${prefix}*`;
    const keys = new Set<string>();
    let cursor = "0";
    do {
      const reply = (await this.#connection.send("SCAN", [cursor, "MATCH", pattern, "COUNT", SCAN_COUNT])) as [string, string[]];
      cursor = String(reply[0]);
      for (const redisKey of reply[1]) {
        const key = String(redisKey).slice(base.length);
        if (key.startsWith(prefix) && keyProblem(key) === undefined) keys.add(key);
      }
    } while (cursor !== "0");
    return [...keys];
  }

  /**
   * One HGETALL: Redis answers it from one version of the hash, so a
   * concurrent `storeBundle` can never pair a certificate with another
   * version's key. Resolves `undefined` when the bundle was never stored.
   * @throws RedisDecryptionError for a secret file that cannot be decrypted.
   */
  async loadBundle(name: string): Promise<Record<string, string> | undefined> {
    checkName(name, "bundle name");
    const reply = (await this.#connection.send("HGETALL", [this.#bundleKey(name)])) as Record<string, string> | string[] | null;
    const entries = hashEntries(reply);
    if (entries.length === 0) return undefined;
    const decoded = await Promise.all(entries.map(([file, stored]) => this.#codec.decode(stored, bundleContext(name, file))));
    // fromEntries defines own properties, so even a file named `__proto__` stays data.
    return Object.fromEntries(entries.map(([file], i) => [file, decoded[i]!]));
  }

  /**
   * Replaces the bundle's hash in one Lua script (see the layout above),
   * then, in the same script, publishes `bundle:<name>` on `<ns>:events`.
   * Readers see the whole old bundle or the whole new one; files of the old
   * bundle that the new one lacks are gone. Secret files are encrypted when
   * an `encryptionKey` is set.
   * @throws TypeError on an invalid name or file name, or no files;
   * RedisUnavailableError or a Redis error, after which the previous bundle
   * is intact unless the script was already running (then it completed).
   */
  async storeBundle(name: string, files: Record<string, BundleFile>): Promise<void> {
    const entries = checkBundle(name, files);
    const encoded = await Promise.all(entries.map(([file, content]) => this.#codec.encode(content.data, content.secret === true, bundleContext(name, file))));
    const fields = entries.flatMap(([file], i) => [file, encoded[i]!]);
    await this.#connection.send("EVAL", [
      STORE_BUNDLE_SCRIPT,
      "2",
      this.#bundleKey(name),
      `${this.namespace}:bundle-scratch:${name}`,
      this.#eventsChannel(),
      bundleEvent(name),
      ...fields,
    ]);
  }

  /**
   * `SET <ns>:lock:<name> <random token> NX PX <ttl>`. Resolves `undefined`
   * while another holder's lease runs. A holder that died is taken over once
   * its lease expires (Redis removes the key; a dead holder cannot be told
   * apart from a slow one on another machine).
   * @throws TypeError on an invalid name, RangeError on a ttl that is not a
   * positive number, RedisUnavailableError (when the SET may still have been
   * applied: that lock then expires after `ttlMs`).
   */
  async tryLock(name: string, ttlMs: number): Promise<Lock | undefined> {
    checkName(name, "lock name");
    checkTtl(ttlMs);
    const ttl = String(Math.ceil(ttlMs));
    const key = `${this.namespace}:lock:${name}`;
    const token = crypto.randomUUID();
    const reply = await this.#connection.send("SET", [key, token, "NX", "PX", ttl]);
    if (reply === null || reply === undefined) return undefined;
    return new RedisLock(name, key, token, ttl, this.#connection);
  }

  /**
   * The `BundleNotifier`: calls `onBundle(name)` soon after any replica
   * (this one included) stores bundle `name` in this namespace.
   *
   * Uses a connection of its own, opened in the background. When it breaks
   * (Redis restarted, network trouble, or a failed health-check ping) it is
   * re-opened with growing delays; messages published meanwhile are lost,
   * so after each re-subscription `onBundle` is called once for every bundle
   * in the namespace. `onBundle` may thus be called when nothing changed:
   * treat it as "reload now". Keep polling as a safety net.
   *
   * Returns a function that ends this subscription (the connection closes
   * with the last one).
   */
  subscribe(onBundle: (name: string) => void, options: SubscribeOptions = {}): () => void {
    if (typeof onBundle !== "function") throw new TypeError("subscribe needs a function");
    if (this.#closed) throw new Error(`redis storage ${this.description} is closed`);
    const listener: BundleListener = { onBundle, ...options };
    this.#listeners.add(listener);
    if (this.#subscriber) {
      if (this.#subscriber.ready) queueMicrotask(() => listener.onReady?.());
    } else {
      this.#subscriber = new Subscriber({
        url: this.#url,
        channel: this.#eventsChannel(),
        description: this.description,
        timeoutMs: this.#timeoutMs,
        healthCheckMs: this.#healthCheckMs,
        listeners: this.#listeners,
        bundleNames: () => this.#bundleNames(),
      });
      this.#subscriber.start();
    }
    return () => {
      if (!this.#listeners.delete(listener)) return;
      if (this.#listeners.size === 0) {
        this.#subscriber?.stop();
        this.#subscriber = undefined;
      }
    };
  }

  /** Closes the connections. Calls made afterwards reject; subscriptions end. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#subscriber?.stop();
    this.#subscriber = undefined;
    this.#connection.close();
  }

  /** Names of every bundle in the namespace (SCAN). */
  async #bundleNames(): Promise<string[]> {
    const base = `${this.namespace}:bundle:`;
    const names = new Set<string>();
    let cursor = "0";
    do {
      const reply = (await this.#connection.send("SCAN", [cursor, "MATCH", `${base}*`, "COUNT", SCAN_COUNT])) as [string, string[]];
      cursor = String(reply[0]);
      for (const redisKey of reply[1]) {
        const name = String(redisKey).slice(base.length);
        if (SEGMENT.test(name)) names.add(name);
      }
    } while (cursor !== "0");
    return [...names];
  }

  #kvKey(key: string): string {
    return `${this.namespace}:kv:${key}`;
  }

  #bundleKey(name: string): string {
    return `${this.namespace}:bundle:${name}`;
  }

  #eventsChannel(): string {
    return `${this.namespace}:events`;
  }
}

/** HGETALL's reply as entries: a map (RESP3) or a flat array (RESP2). */
function hashEntries(reply: Record<string, string> | string[] | null | undefined): [string, string][] {
  if (!reply) return [];
  if (Array.isArray(reply)) {
    const entries: [string, string][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) entries.push([String(reply[i]), String(reply[i + 1])]);
    return entries;
  }
  return Object.entries(reply).map(([field, value]) => [field, String(value)]);
}
