/**
 * Where certificates, ACME accounts and challenge tokens live: a small
 * key-value store with atomic bundles and a lock, in the manner of
 * certmagic's `Storage` and `Locker`. The filesystem is the default
 * implementation; a shared one (Redis) lets several replicas use one
 * certificate. `test/storage/storage.test.ts` runs one contract suite
 * against both.
 *
 * Keys are `/`-separated paths of `[A-Za-z0-9._@-]` segments (no `..`, no
 * leading `/`), such as `acme/<directory-id>/account.json` or
 * `challenges/<token>`, under the rules of `keys.ts`, the same for every
 * implementation. Other keys are refused with a TypeError before any I/O.
 */
export interface Storage extends Locker {
  /** Human description for logs (a directory, a redis URL without password). */
  readonly description: string;

  /**
   * Reads a value. Resolves `undefined` when the key does not exist.
   * @throws on any other I/O failure (the caller keeps what it has).
   */
  load(key: string): Promise<string | undefined>;

  /**
   * Writes a value atomically: readers see the old value or the new one,
   * never a part. With `secret: true` the value is readable by the owner
   * only (file mode 0600; encrypted in Redis when a key is configured).
   * @throws on I/O failure (disk full, read-only); the old value is then intact.
   */
  store(key: string, value: string, options?: StoreOptions): Promise<void>;

  /** Removes a key; removing a missing key is not an error. @throws on I/O failure. */
  delete(key: string): Promise<void>;

  /**
   * Keys that start with `prefix` (a plain string prefix), in no particular
   * order. Bundles and locks are not keys. A prefix no valid key can start
   * with resolves `[]`.
   */
  list(prefix: string): Promise<string[]>;

  /**
   * Reads a bundle: files written together by `storeBundle`, all from the
   * same version. Resolves `undefined` when no complete bundle exists.
   * @throws on I/O failure.
   */
  loadBundle(name: string): Promise<Record<string, string> | undefined>;

  /**
   * Replaces a bundle (a certificate, its key and their metadata) in one
   * step: a reader, or the next start after a crash at any point, sees the
   * whole old bundle or the whole new one, never a mix; files of the old
   * bundle that the new one lacks are gone.
   * @throws on I/O failure; the previous bundle is then still the current one.
   */
  storeBundle(name: string, files: Record<string, BundleFile>): Promise<void>;

  /**
   * Lets go of what the storage holds open (connections, subscriptions).
   * Idempotent; the storage is not to be used afterwards.
   */
  close(): Promise<void>;
}

/**
 * Mutual exclusion between the processes sharing a storage: the issuance
 * lock lets one of them order a certificate while the others wait and then
 * read what it stored.
 */
export interface Locker {
  /**
   * Tries to take the named lock for `ttlMs`. Resolves a `Lock` when taken,
   * `undefined` when someone else holds it (the caller waits and retries, or
   * reads what the holder produced). A lock whose holder died is taken over:
   * at once when the implementation can tell the holder is dead, otherwise
   * once its lease ran out.
   * @throws TypeError on an invalid name, RangeError on a ttl that is not a
   * positive number, or an I/O error (the lock may then have been taken
   * anyway: it expires after `ttlMs`).
   */
  tryLock(name: string, ttlMs: number): Promise<Lock | undefined>;
}

export interface StoreOptions {
  /** Owner-only permissions (0600): private keys, account keys. */
  secret?: boolean;
}

export interface BundleFile {
  data: string;
  secret?: boolean;
}

/** A held lock. */
export interface Lock {
  readonly name: string;
  /**
   * Extends the lease by its ttl from now. Resolves `false` when the lock
   * was lost meanwhile (expired and taken by another holder): the work it
   * guarded must then not be committed. Always `false` after `release()`.
   * @throws on I/O failure.
   */
  renew(): Promise<boolean>;
  /** Releases the lock if still ours; never releases another holder's. Idempotent. @throws on I/O failure. */
  release(): Promise<void>;
}
