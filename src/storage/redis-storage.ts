import { RedisClient } from "bun";
import type { BundleNotifier, SubscribeOptions } from "./notifier.ts";
import type { BundleFile, Lock, Storage, StoreOptions } from "./storage.ts";
import { checkBundle, checkKey, checkName, checkTtl, checkValue, couldPrefixKey, keyProblem, SEGMENT } from "./keys.ts";

/** Default for {@link RedisStorageOptions.namespace}. */
export const DEFAULT_NAMESPACE = "mcp-server";
/** Default for {@link RedisStorageOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** Default for {@link RedisStorageOptions.healthCheckMs}. */
export const DEFAULT_HEALTH_CHECK_MS = 10_000;

/** No `:` (it separates the parts of Redis keys) and nothing SCAN's MATCH would read as a pattern. */
const NAMESPACE = /^[A-Za-z0-9._@-]{1,100}$/;
const ENCRYPTED_PREFIX = "enc:";
const ENCRYPTED_V1 = "enc:v1:";
/** Marks a plain value that itself starts with `enc:` or `raw:`, so it is never taken for ciphertext. */
const RAW_PREFIX = "raw:";
const SCAN_COUNT = "1000";
/** What Bun's client accepts. */
const URL_SCHEMES = new Set(["redis:", "rediss:", "redis+tls:", "redis+unix:", "redis+tls+unix:", "valkey:", "valkeys:", "valkey+tls:", "valkey+unix:", "valkey+tls+unix:"]);
const BUNDLE_EVENT_PREFIX = "bundle:";
/** Reconnect delays of the subscriber: doubling from the first to the last. */
const RESUBSCRIBE_MIN_MS = 100;
const RESUBSCRIBE_MAX_MS = 5_000;

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
   * Redis makes calls reject with a {@link RedisUnavailableError} within
   * about this time.
   */
  timeoutMs?: number;
  /** How often an idle subscription (see `subscribe`) pings Redis to notice a dead connection, in ms (default {@link DEFAULT_HEALTH_CHECK_MS}). */
  healthCheckMs?: number;
}

/**
 * Redis could not be reached, or did not answer in time, or the connection
 * broke during the call. The operation's outcome is then unknown: a write
 * may still have been applied (Redis executes what it already received).
 * Calls after Redis is back work again: the connection is re-established
 * on demand.
 */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
}

/**
 * A value stored encrypted could not be decrypted: wrong `encryptionKey`,
 * no `encryptionKey`, or the value was altered.
 */
export class RedisDecryptionError extends Error {
  override readonly name = "RedisDecryptionError";
}

/**
 * `Storage` on Redis (or Valkey), shared by every replica that uses the same
 * Redis and namespace: one replica orders the certificate, all serve it.
 *
 * Layout, for namespace `<ns>`:
 * - a key `a/b` is the string `<ns>:kv:a/b`;
 * - a bundle `<name>` is the hash `<ns>:bundle:<name>` (one field per file),
 *   replaced atomically by a Lua script;
 * - a lock `<name>` is the string `<ns>:lock:<name>` holding a random token,
 *   with a Redis expiry (`SET NX PX`);
 * - after each `storeBundle`, `bundle:<name>` is published on `<ns>:events`
 *   (see {@link subscribe}).
 *
 * Keys, bundle names, file names and lock names follow `keys.ts`, as for
 * `FileStorage`: TypeError otherwise.
 *
 * Values are stored as they are, except secret ones when an
 * `encryptionKey` is set (`enc:v1:<iv>:<ciphertext>`), and plain values that
 * happen to start with `enc:` or `raw:` (stored with a `raw:` marker).
 *
 * Failures: a Redis that is down, unreachable or hung makes calls reject
 * with {@link RedisUnavailableError} within `timeoutMs`; the next call
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
  readonly #cipher: Cipher | undefined;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #healthCheckMs: number;
  readonly #listeners = new Set<Listener>();
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
    this.#cipher = encryptionKey === undefined ? undefined : new Cipher(encryptionKey);
    this.#connection = new Connection(url, timeoutMs, this.description);
  }

  /** Resolves `undefined` when the key does not exist. @throws RedisDecryptionError for an encrypted value that cannot be decrypted. */
  async load(key: string): Promise<string | undefined> {
    checkKey(key);
    const stored = await this.#connection.send("GET", [this.#kvKey(key)]);
    if (stored === null || stored === undefined) return undefined;
    return await this.#decode(String(stored), kvContext(key));
  }

  /** `SET`: atomic. With `secret: true` and an `encryptionKey`, the value is stored encrypted. */
  async store(key: string, value: string, options: StoreOptions = {}): Promise<void> {
    checkKey(key);
    checkValue(key, value);
    const encoded = await this.#encode(value, options.secret === true, kvContext(key));
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
    const decoded = await Promise.all(entries.map(([file, stored]) => this.#decode(stored, bundleContext(name, file))));
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
    const encoded = await Promise.all(entries.map(([file, content]) => this.#encode(content.data, content.secret === true, bundleContext(name, file))));
    const fields = entries.flatMap(([file], i) => [file, encoded[i]!]);
    await this.#connection.send("EVAL", [
      STORE_BUNDLE_SCRIPT,
      "2",
      this.#bundleKey(name),
      `${this.namespace}:bundle-scratch:${name}`,
      this.#eventsChannel(),
      `${BUNDLE_EVENT_PREFIX}${name}`,
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
    const listener: Listener = { onBundle, ...options };
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

  async #encode(value: string, secret: boolean, context: string): Promise<string> {
    if (secret && this.#cipher) return await this.#cipher.encrypt(value, context);
    if (value.startsWith(ENCRYPTED_PREFIX) || value.startsWith(RAW_PREFIX)) return RAW_PREFIX + value;
    return value;
  }

  async #decode(stored: string, context: string): Promise<string> {
    if (stored.startsWith(RAW_PREFIX)) return stored.slice(RAW_PREFIX.length);
    if (!stored.startsWith(ENCRYPTED_PREFIX)) return stored;
    if (!this.#cipher) {
      throw new RedisDecryptionError(`${context} in ${this.description} is encrypted, but this RedisStorage has no encryptionKey`);
    }
    return await this.#cipher.decrypt(stored, context, this.description);
  }
}

interface Listener extends SubscribeOptions {
  onBundle: (name: string) => void;
}

/** A lock held through `RedisStorage.tryLock`. */
class RedisLock implements Lock {
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

/**
 * The command connection: one Bun `RedisClient`, opened on demand, with
 * every call bounded in time.
 *
 * Bun's own reconnection is off (`autoReconnect: false`): with it, calls
 * made while Redis is down wait in the offline queue through up to 20
 * reconnection attempts (about 30 s), and once those are used up the
 * client fails every later call for good, even after Redis is back. Here,
 * instead, a call finding the client disconnected opens a new one, and a
 * call that does not finish in time closes the client (so a hung Redis
 * does not leave a backlog on it) and rejects.
 */
class Connection {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #description: string;
  #client: RedisClient | undefined;
  #connecting: Promise<RedisClient> | undefined;
  #closed = false;

  constructor(url: string, timeoutMs: number, description: string) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#description = description;
  }

  /** Sends one command; connecting first if needed, all within `timeoutMs`. */
  async send(command: string, args: string[]): Promise<unknown> {
    const deadline = Date.now() + this.#timeoutMs;
    const client = await this.#connected(deadline);
    const timeout = `no answer to ${command} within ${this.#timeoutMs} ms`;
    try {
      return await withDeadline(client.send(command, args), deadline, () => {
        this.#discard(client);
        return new RedisUnavailableError(`redis storage ${this.#description} unavailable: ${timeout}`);
      });
    } catch (error) {
      if (error instanceof RedisUnavailableError) throw error;
      if (isServerError(error)) {
        throw new Error(`redis storage ${this.#description}: ${command} failed: ${(error as Error).message}`, { cause: error });
      }
      // The connection broke (or was closed by a timed-out call) while this call was waiting.
      if (this.#client === client && !client.connected) this.#discard(client);
      throw new RedisUnavailableError(`redis storage ${this.#description} unavailable: ${command} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#client) this.#discard(this.#client);
  }

  #connected(deadline: number): Promise<RedisClient> {
    if (this.#closed) return Promise.reject(new Error(`redis storage ${this.#description} is closed`));
    const client = this.#client;
    if (client?.connected) return Promise.resolve(client);
    const connecting = (this.#connecting ??= this.#connect(deadline).finally(() => {
      if (this.#connecting === connecting) this.#connecting = undefined;
    }));
    return connecting;
  }

  async #connect(deadline: number): Promise<RedisClient> {
    if (this.#client) this.#discard(this.#client);
    const client = openClient(this.#url, deadline - Date.now());
    this.#client = client;
    try {
      await withDeadline(client.connect(), deadline, () => new Error(`no answer within ${this.#timeoutMs} ms`));
    } catch (error) {
      this.#discard(client);
      throw new RedisUnavailableError(
        `redis storage ${this.#description} unavailable: cannot connect (${messageOf(error)}; is Redis running and reachable, and the password right?)`,
        { cause: error },
      );
    }
    if (this.#closed) {
      this.#discard(client);
      throw new Error(`redis storage ${this.#description} is closed`);
    }
    return client;
  }

  #discard(client: RedisClient): void {
    if (this.#client === client) this.#client = undefined;
    client.onclose = null;
    client.close();
  }
}

interface SubscriberSettings {
  url: string;
  channel: string;
  description: string;
  timeoutMs: number;
  healthCheckMs: number;
  listeners: Set<Listener>;
  /** Every bundle of the namespace: announced after a re-subscription. */
  bundleNames: () => Promise<string[]>;
}

/**
 * The subscription connection: a client of its own (a subscribed client can
 * send nothing else), re-opened with growing delays whenever it closes or a
 * health-check ping goes unanswered. Each connection gets a new client:
 * Bun keeps a client's listeners across connect() calls but does not send
 * SUBSCRIBE again on its own.
 */
class Subscriber {
  readonly #settings: SubscriberSettings;
  #client: RedisClient | undefined;
  #stopped = false;
  #failures = 0;
  #everReady = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #healthTimer: ReturnType<typeof setInterval> | undefined;
  ready = false;

  constructor(settings: SubscriberSettings) {
    this.#settings = settings;
  }

  start(): void {
    void this.#open();
  }

  stop(): void {
    this.#stopped = true;
    this.ready = false;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#healthTimer);
    if (this.#client) this.#drop(this.#client);
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    const { url, channel, timeoutMs, description } = this.#settings;
    const deadline = Date.now() + timeoutMs;
    const client = openClient(url, timeoutMs);
    this.#client = client;
    client.onclose = () => {
      if (this.#client === client) this.#retry(new RedisUnavailableError(`redis storage ${description}: subscription connection closed`));
    };
    try {
      const timedOut = () => new Error(`no answer within ${timeoutMs} ms`);
      await withDeadline(client.connect(), deadline, timedOut);
      await withDeadline(client.subscribe(channel, (message) => this.#deliver(message)), deadline, timedOut);
    } catch (error) {
      if (this.#client === client) {
        this.#retry(new RedisUnavailableError(`redis storage ${description}: cannot subscribe to ${channel} (${messageOf(error)})`, { cause: error }));
      }
      return;
    }
    if (this.#client !== client || this.#stopped) return;
    this.#failures = 0;
    this.ready = true;
    clearInterval(this.#healthTimer);
    this.#healthTimer = setInterval(() => void this.#check(client), this.#settings.healthCheckMs);
    (this.#healthTimer as { unref?: () => void }).unref?.();
    const resubscribed = this.#everReady;
    this.#everReady = true;
    for (const listener of [...this.#settings.listeners]) this.#call(listener, () => listener.onReady?.());
    if (resubscribed) await this.#announceAll();
  }

  /** After a gap, messages may have been lost: every bundle counts as changed. */
  async #announceAll(): Promise<void> {
    let names: string[];
    try {
      names = await this.#settings.bundleNames();
    } catch (error) {
      this.#report(error);
      return;
    }
    for (const name of names) this.#emit(name);
  }

  #deliver(message: string): void {
    if (typeof message !== "string" || !message.startsWith(BUNDLE_EVENT_PREFIX)) return;
    const name = message.slice(BUNDLE_EVENT_PREFIX.length);
    if (SEGMENT.test(name)) this.#emit(name);
  }

  #emit(name: string): void {
    if (this.#stopped) return;
    for (const listener of [...this.#settings.listeners]) this.#call(listener, () => listener.onBundle(name));
  }

  #call(listener: Listener, action: () => void): void {
    try {
      action();
    } catch (error) {
      try {
        listener.onError?.(error);
      } catch {
        // A failing error handler has nowhere left to report to.
      }
    }
  }

  #report(error: unknown): void {
    for (const listener of [...this.#settings.listeners]) {
      const onError = listener.onError;
      if (onError) this.#call(listener, () => onError(error));
    }
  }

  async #check(client: RedisClient): Promise<void> {
    if (this.#client !== client || this.#stopped) return;
    const { timeoutMs, description } = this.#settings;
    try {
      await withDeadline(client.ping(), Date.now() + timeoutMs, () => new Error(`no answer to PING within ${timeoutMs} ms`));
    } catch (error) {
      if (this.#client === client) {
        this.#retry(new RedisUnavailableError(`redis storage ${description}: subscription health check failed (${messageOf(error)})`, { cause: error }));
      }
    }
  }

  /** Drops the current client and opens a new one after a delay that doubles with each failure in a row. */
  #retry(error: unknown): void {
    if (this.#client) this.#drop(this.#client);
    this.ready = false;
    clearInterval(this.#healthTimer);
    if (this.#stopped) return;
    this.#report(error);
    const delay = Math.min(RESUBSCRIBE_MAX_MS, RESUBSCRIBE_MIN_MS * 2 ** this.#failures);
    this.#failures = Math.min(this.#failures + 1, 16);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#open(), delay);
    // A subscription alone does not keep the process running.
    (this.#retryTimer as { unref?: () => void }).unref?.();
  }

  #drop(client: RedisClient): void {
    if (this.#client === client) this.#client = undefined;
    client.onclose = null;
    client.close();
  }
}

/**
 * Bun's client with its own reconnection and offline queue off (the
 * `Connection` and `Subscriber` above reconnect on demand instead), and a
 * connection timeout covering the TCP connect and the HELLO/AUTH handshake.
 */
function openClient(url: string, connectionTimeoutMs: number): RedisClient {
  return new RedisClient(url, {
    autoReconnect: false,
    enableOfflineQueue: false,
    connectionTimeout: Math.max(1, Math.ceil(connectionTimeoutMs)),
  });
}

/** Rejects with `onTimeout()` if `promise` has not settled by `deadline` (epoch ms). */
function withDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** An error reply from Redis (as opposed to a connection problem). */
function isServerError(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "ERR_REDIS_SERVER_ERROR";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

/** The URL without its password, for logs and errors. */
function redactUrl(url: string): string {
  if (typeof url !== "string") throw new TypeError("redis url must be a string");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the text: it may hold a password.
    throw new TypeError("invalid redis url: expected redis://[[user]:password@]host:port[/db]");
  }
  if (!URL_SCHEMES.has(parsed.protocol)) {
    throw new TypeError(`invalid redis url: unsupported scheme ${JSON.stringify(parsed.protocol)}`);
  }
  const user = parsed.username ? `${parsed.username}@` : "";
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
}

/** What a secret value is bound to (AES-GCM associated data): its place, without the namespace. */
function kvContext(key: string): string {
  return `key ${key}`;
}

function bundleContext(name: string, file: string): string {
  return `bundle ${name} file ${file}`;
}

/** AES-256-GCM with a random 12-byte IV per value, through WebCrypto. */
class Cipher {
  readonly #key: Promise<CryptoKey>;

  /** @throws TypeError unless `base64` decodes to exactly 32 bytes. */
  constructor(base64: string) {
    const raw = decodeBase64(base64);
    if (!raw || raw.length !== 32) {
      // Never echo the key.
      throw new TypeError("redis encryptionKey must be 32 bytes in base64 (make one with `openssl rand -base64 32`)");
    }
    this.#key = crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  }

  /** `enc:v1:<iv base64>:<ciphertext+tag base64>`, bound to `context`. */
  async encrypt(plain: string, context: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
      await this.#key,
      new TextEncoder().encode(plain),
    );
    return `${ENCRYPTED_V1}${Buffer.from(iv).toString("base64")}:${Buffer.from(sealed).toString("base64")}`;
  }

  /** @throws RedisDecryptionError on a wrong key, an altered or moved value, or an unknown format. */
  async decrypt(stored: string, context: string, where: string): Promise<string> {
    if (!stored.startsWith(ENCRYPTED_V1)) {
      throw new RedisDecryptionError(`${context} in ${where}: unsupported encrypted format ${JSON.stringify(stored.slice(0, 12))}`);
    }
    const parts = stored.slice(ENCRYPTED_V1.length).split(":");
    const iv = parts.length === 2 ? decodeBase64(parts[0]!) : undefined;
    const sealed = parts.length === 2 ? decodeBase64(parts[1]!) : undefined;
    if (!iv || iv.length !== 12 || !sealed || sealed.length < 16) {
      throw new RedisDecryptionError(`${context} in ${where}: malformed encrypted value`);
    }
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) }, await this.#key, sealed);
    } catch (error) {
      throw new RedisDecryptionError(
        `cannot decrypt ${context} in ${where}: wrong encryptionKey, or the value was altered or copied from another key`,
        { cause: error },
      );
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  }
}

/** Strict base64 (standard or URL-safe, padding optional): `undefined` for anything else. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== "string") return undefined;
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(trimmed) || trimmed.replace(/=+$/, "").length % 4 === 1) return undefined;
  const bytes = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}
