import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { link, open, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "./atomic-file.ts";
import { ensureDirectory, ignoreAbsent, isAbsent, SECRET_MODE } from "./file-io.ts";
import { bootId, HOST, isAlive } from "./file-owner.ts";
import type { Lock } from "./storage.ts";

/**
 * Takes the lock file `<directory>/<name>.lock` with an exclusive create. A
 * lock file already there is broken when its holder is known dead (same
 * host and boot, pid gone), when its lease ran out, or when it is unreadable
 * and older than `ttlMs` (a holder that died between create and write). It
 * is removed only if it is still the file judged stale, and by one breaker
 * only (see `removeIfUnchanged`); then the create is tried once more.
 *
 * Breaking a stale lock uses a hard link, which every local Linux
 * filesystem supports. The name and ttl are checked by the caller.
 *
 * Resolves `undefined` while another holder's lock is live.
 * @throws any I/O error.
 */
export async function tryFileLock(directory: string, name: string, ttlMs: number): Promise<Lock | undefined> {
  await ensureDirectory(directory);
  const path = join(directory, `${name}.lock`);
  const token = crypto.randomUUID();

  if (await createLockFile(path, token, ttlMs)) return new FileLock(name, path, token, ttlMs);
  if (!(await breakIfStale(path, ttlMs))) return undefined;
  if (await createLockFile(path, token, ttlMs)) return new FileLock(name, path, token, ttlMs);
  return undefined;
}

/** A lock held through `tryFileLock`. */
class FileLock implements Lock {
  readonly name: string;
  readonly #path: string;
  readonly #token: string;
  readonly #ttlMs: number;
  #released = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(name: string, path: string, token: string, ttlMs: number) {
    this.name = name;
    this.#path = path;
    this.#token = token;
    this.#ttlMs = ttlMs;
  }

  /**
   * Rewrites the lease (atomic write) while the file still carries our
   * token. A lease that has run out, or nearly, may be being broken by
   * another process right now, and a rename cannot compare-and-swap: such a
   * lease is removed the way a stale lock is broken and created anew, and
   * `false` means someone else got it first. After `release()`, always `false`.
   * @throws on I/O errors.
   */
  renew(): Promise<boolean> {
    return this.#serially(() => this.#renew());
  }

  /** Deletes the lock file if it still carries our token; idempotent. @throws on I/O errors. */
  release(): Promise<void> {
    return this.#serially(() => this.#release());
  }

  /**
   * One renew or release of this lock at a time: a timer's renew racing an
   * explicit one near expiry would otherwise make one of them see the other's
   * fresh file and report the lock lost.
   */
  #serially<T>(action: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(action);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #renew(): Promise<boolean> {
    if (this.#released) return false;
    const snapshot = await readSnapshot(this.#path);
    const record = snapshot && parseLock(snapshot.raw);
    if (!snapshot || record?.token !== this.#token) return false;
    const margin = Math.min(1000, this.#ttlMs / 4);
    if (record.expiresAt - Date.now() > margin) {
      await writeFileAtomic(this.#path, lockJson(this.#token, this.#ttlMs), SECRET_MODE);
      return true;
    }
    if (!(await removeIfUnchanged(this.#path, snapshot))) return false;
    return await createLockFile(this.#path, this.#token, this.#ttlMs);
  }

  async #release(): Promise<void> {
    if (this.#released) return;
    const snapshot = await readSnapshot(this.#path);
    if (snapshot && parseLock(snapshot.raw)?.token === this.#token) {
      await removeIfUnchanged(this.#path, snapshot);
    }
    this.#released = true;
  }
}

interface LockRecord {
  token: string;
  pid: number;
  /** Kernel boot id, `null` where the kernel does not expose one. */
  bootId: string | null;
  hostname: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** A lock file as read: its text and the identity of the inode it was read from. */
interface Snapshot {
  raw: string;
  info: Stats;
}

function lockJson(token: string, ttlMs: number): string {
  const record: LockRecord = { token, pid: process.pid, bootId: bootId(), hostname: HOST, expiresAt: Date.now() + ttlMs };
  return JSON.stringify(record) + "\n";
}

/**
 * Exclusive create of the lock file. Resolves `false` when it exists. No
 * directory fsync: after a crash a lost lock file is as good as a stale one.
 */
async function createLockFile(path: string, token: string, ttlMs: number): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", SECRET_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(lockJson(token, ttlMs));
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {}); // ours: created by us a moment ago
    throw error;
  }
  await handle.close();
  return true;
}

/** Resolves `true` when the path is free now (we removed a stale lock, or it vanished), `false` when the lock is live. */
async function breakIfStale(path: string, ttlMs: number): Promise<boolean> {
  const snapshot = await readSnapshot(path);
  if (!snapshot) return true;
  if (!isStale(parseLock(snapshot.raw), snapshot.info, ttlMs)) return false;
  return await removeIfUnchanged(path, snapshot);
}

function isStale(record: LockRecord | undefined, info: Stats, ttlMs: number): boolean {
  const now = Date.now();
  // Unreadable: a holder died between create and write, or is writing right now; only age tells them apart.
  if (!record) return now - info.mtimeMs > ttlMs;
  const boot = bootId();
  if (record.hostname === HOST && boot !== null && record.bootId === boot && !isAlive(record.pid)) return true;
  return record.expiresAt <= now;
}

/**
 * Removes the file at `path` only if it is still the one in `snapshot`.
 * The file is first claimed by hard-linking it to a name derived from its
 * identity (inode, mtime, hash of its text): of several processes removing
 * the same file, only one creates that name, the others get EEXIST and back
 * off. The claimer then checks that what it linked is that file (and not a
 * newer lock that replaced it meanwhile, which is left alone, untouched),
 * unlinks `path`, and drops the claim name. Moving the file aside instead
 * would leave the path empty for a moment even when it held a newer, live
 * lock, letting a third process in while that holder believes it holds it.
 *
 * Resolves `true` when the path is free (removed, or already gone), `false`
 * when the file there is not the one in `snapshot` or another process is
 * removing it. Needs hard links (every local Linux filesystem has them).
 */
async function removeIfUnchanged(path: string, snapshot: Snapshot): Promise<boolean> {
  const identity = `${snapshot.info.ino}-${Math.trunc(snapshot.info.mtimeMs)}-${hashOf(snapshot.raw)}`;
  const claim = join(dirname(path), `.${basename(path)}.${identity}.claim`);
  try {
    await link(path, claim);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return true;
    if (code === "EEXIST") return false;
    throw error;
  }
  try {
    const claimed = await readSnapshot(claim);
    if (!claimed || !sameFile(claimed, snapshot)) return false;
    // Nobody else can remove this file now: its other remover would need our claim name.
    await unlink(path).catch(ignoreAbsent);
    return true;
  } finally {
    await unlink(claim).catch(() => {});
  }
}

function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function sameFile(a: Snapshot, b: Snapshot): boolean {
  // Inode numbers are reused at once on some filesystems; the text (with its random token) and mtime settle it.
  return a.info.ino === b.info.ino && a.info.dev === b.info.dev && a.info.size === b.info.size
    && a.info.mtimeMs === b.info.mtimeMs && a.raw === b.raw;
}

/** Text and stat of one open file, so both describe the same inode. `undefined` when absent. */
async function readSnapshot(path: string): Promise<Snapshot | undefined> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
  try {
    const info = await handle.stat();
    const raw = await handle.readFile("utf8");
    return { raw, info };
  } finally {
    await handle.close();
  }
}

function parseLock(raw: string): LockRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.token !== "string" || typeof record.pid !== "number" || typeof record.hostname !== "string"
    || typeof record.expiresAt !== "number" || !(typeof record.bootId === "string" || record.bootId === null)) {
    return undefined;
  }
  return record as unknown as LockRecord;
}
