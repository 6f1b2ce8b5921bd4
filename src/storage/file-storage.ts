import { createHash } from "node:crypto";
import type { Dirent, Stats } from "node:fs";
import { readFileSync } from "node:fs";
import {
  link,
  lstat,
  mkdir,
  open,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  unlink,
} from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { syncDirectory, writeFileAtomic, writeNewFile } from "./atomic-file.ts";
import type { BundleFile, Lock, Storage, StoreOptions } from "./storage.ts";
import {
  ATOMIC_TEMP,
  BUNDLE_DIRECTORY_SUFFIX,
  checkBundle,
  checkKey,
  checkName,
  checkTtl,
  checkValue,
  couldPrefixKey,
  isReservedTopSegment,
  LOCKS_DIRECTORY,
  SEGMENT,
} from "./keys.ts";

/** Old bundle versions kept after a commit, for slow readers and for a manual roll-back. */
export const OLD_BUNDLE_VERSIONS = 2;

const CURRENT = "current";
const CURRENT_TMP = "current.tmp";
/** `<15-digit epoch ms>-<8 hex>`: names sort in commit order, so pruning can keep the newest. */
const VERSION = /^\d{15}-[0-9a-f]{8}$/;
/** A version being written: `.partial-<version>-<pid>-<host>`, renamed to `<version>` once complete. */
const PARTIAL = /^\.partial-(\d{15}-[0-9a-f]{8})-(\d+)-(.*)$/;
const TRASH_PREFIX = ".trash-";
/** A `.partial-` directory whose writer we cannot see die (another host, reused pid) is abandoned after this. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;
/** How often `loadBundle` starts over when the version it resolved is pruned under it. */
const LOAD_ATTEMPTS = 5;

const DIR_MODE = 0o700;
const SECRET_MODE = 0o600;
/**
 * Non-secret values (certificates, metadata) are 0644: the 0700 directories
 * are what keeps other users out; should an admin open them up (so a proxy
 * can read the certificate), the private keys still stay owner-only.
 */
const FILE_MODE = 0o644;

const HOST = hostname();
/** Host name as it appears in `.partial-` directory names: path-safe and bounded. */
const HOST_TAG = HOST.replace(/[^A-Za-z0-9.-]/g, "_").slice(0, 64) || "unknown";

/**
 * `Storage` on the local filesystem, under one root directory (`MCP_CERTS_DIR`).
 *
 * Layout:
 * - a key `a/b/c` is the file `<root>/a/b/c`;
 * - a bundle `<name>` lives in `<root>/<name>.d/<version>/<file>`, with
 *   `<root>/<name>.d/current` a relative symlink to the committed version,
 *   and `<root>/<name>.<file>` relative symlinks to `<name>.d/current/<file>`,
 *   so `certs/docs.example.com.cert.pem` and `.key.pem` stay where users
 *   and other programs expect them;
 * - a lock `<name>` is the file `<root>/locks/<name>.lock`.
 *
 * Keys follow `keys.ts` (which reserves the names this layout uses for
 * itself: `locks/`, `*.d/` and temporary-file names). A root-level key that equals
 * a bundle's stable path (`docs.example.com.cert.pem`) is not refused but
 * collides with that link: do not use such keys. As on any filesystem, `a`
 * and `a/b` cannot both be keys (storing the second then throws).
 *
 * Directories are created 0700, secret files 0600, others 0644. Existing
 * directories keep their mode: an admin may have chosen it.
 *
 * Breaking a stale lock uses a hard link, which every local Linux
 * filesystem supports.
 *
 * Every I/O error other than "not there" propagates unchanged; the caller
 * logs and retries.
 */
export class FileStorage implements Storage {
  readonly description: string;
  readonly #root: string;
  /** One `storeBundle` at a time per bundle in this process: they share `current.tmp`. */
  readonly #bundleQueues = new Map<string, Promise<void>>();

  /** `root` is created (0700) on the first write, not here: a constructor cannot fail usefully. */
  constructor(root: string) {
    this.#root = resolve(root);
    this.description = this.#root;
  }

  /** Resolves `undefined` when the key does not exist (also when a path component is a file or the key is a directory). */
  async load(key: string): Promise<string | undefined> {
    const path = this.#keyPath(key);
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
  }

  async store(key: string, value: string, options: StoreOptions = {}): Promise<void> {
    const path = this.#keyPath(key);
    checkValue(key, value);
    await this.#ensureDirectory(dirname(path));
    await writeFileAtomic(path, value, options.secret ? SECRET_MODE : FILE_MODE);
  }

  /**
   * Idempotent. Not followed by a directory fsync: a key that comes back
   * after a crash is one the caller was about to throw away anyway.
   */
  async delete(key: string): Promise<void> {
    const path = this.#keyPath(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isAbsent(error)) return;
      throw error;
    }
  }

  /**
   * Keys under the root that start with `prefix` (a plain string prefix, not
   * necessarily whole segments). Bundles, locks, symlinks and temporary files
   * are not keys and never listed. A prefix no valid key can start with
   * (`../`, `a//`) resolves `[]` rather than throwing.
   */
  async list(prefix: string): Promise<string[]> {
    if (!couldPrefixKey(prefix)) return [];
    // Walk only the directory the prefix already names.
    const slash = prefix.lastIndexOf("/");
    const keys: string[] = [];
    await this.#walk(slash === -1 ? [] : prefix.slice(0, slash).split("/"), keys);
    return keys.filter((key) => key.startsWith(prefix));
  }

  /**
   * Reads `current` once and every file from the version it names, never
   * through the stable `<name>.<file>` links, so a concurrent commit cannot
   * pair a certificate with another version's key. A version pruned while
   * being read (only after two more commits) makes it start over.
   * Resolves `undefined` when the bundle was never committed.
   * @throws when `current` is not a link to a version directory (damaged by
   * hand), or on any other I/O error.
   */
  async loadBundle(name: string): Promise<Record<string, string> | undefined> {
    const directory = this.#bundleDirectory(name);
    let lastError: unknown;
    for (let attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
      let version: string;
      try {
        version = await readlink(join(directory, CURRENT));
      } catch (error) {
        if (isAbsent(error)) return undefined;
        throw error;
      }
      if (!VERSION.test(version)) {
        throw new Error(`bundle ${JSON.stringify(name)}: ${CURRENT} points to ${JSON.stringify(version)}, not a version directory`);
      }
      try {
        return await readVersion(join(directory, version));
      } catch (error) {
        if (!isAbsent(error)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /**
   * Commits in one `rename`: the files are written (each fsynced) into
   * `<name>.d/.partial-<version>-<pid>-<host>/`, which is fsynced and renamed
   * to `<name>.d/<version>/`, then a `current.tmp` symlink to it is renamed
   * over `current`. Writing under a `.partial-` name means a crash can never
   * leave an incomplete directory with a version name: whatever `current`
   * names, and every version directory, is complete.
   *
   * Before the commit, missing stable links `<name>.<file>` are created
   * (they resolve through `current`, so they need no change per version).
   * After it, best effort and never failing the call: a stable path holding
   * something else (a regular file from an older layout) is replaced by the
   * link, links to files no longer in the bundle are removed, versions older
   * than the newest {@link OLD_BUNDLE_VERSIONS} old ones are deleted, and
   * leftovers of crashed writers (`.partial-` directories of dead processes)
   * are deleted.
   *
   * Calls for one bundle are serialised within this process. Two processes
   * storing the same bundle at once never corrupt it (`current` always names
   * a complete version) but one of them may fail: take the bundle's lock.
   *
   * @throws TypeError on an invalid name or file name, or no files; any I/O
   * error before the commit, after which the previous bundle is still current.
   */
  async storeBundle(name: string, files: Record<string, BundleFile>): Promise<void> {
    const entries = checkBundle(name, files);
    const directory = this.#bundleDirectory(name);

    const previous = this.#bundleQueues.get(name) ?? Promise.resolve();
    const run = previous.then(() => this.#commitBundle(name, directory, entries));
    const tail = run.catch(() => {});
    this.#bundleQueues.set(name, tail);
    try {
      await run;
    } finally {
      if (this.#bundleQueues.get(name) === tail) this.#bundleQueues.delete(name);
    }
  }

  /**
   * Takes `<root>/locks/<name>.lock` with an exclusive create. A lock file
   * already there is broken when its holder is known dead (same host and
   * boot, pid gone), when its lease ran out, or when it is unreadable and
   * older than `ttlMs` (a holder that died between create and write). It is
   * removed only if it is still the file judged stale, and by one breaker
   * only (see `removeIfUnchanged`); then the create is tried once more.
   * @throws TypeError on an invalid name, RangeError on a ttl that is not a
   * positive number, or any I/O error.
   */
  async tryLock(name: string, ttlMs: number): Promise<Lock | undefined> {
    checkName(name, "lock name");
    checkTtl(ttlMs);
    const directory = join(this.#root, LOCKS_DIRECTORY);
    await this.#ensureDirectory(directory);
    const path = join(directory, `${name}.lock`);
    const token = crypto.randomUUID();

    if (await createLockFile(path, token, ttlMs)) return new FileLock(name, path, token, ttlMs);
    if (!(await breakIfStale(path, ttlMs))) return undefined;
    if (await createLockFile(path, token, ttlMs)) return new FileLock(name, path, token, ttlMs);
    return undefined;
  }

  /** Nothing is held open between calls. */
  async close(): Promise<void> {}

  #keyPath(key: string): string {
    checkKey(key);
    return join(this.#root, ...key.split("/"));
  }

  #bundleDirectory(name: string): string {
    checkName(name, "bundle name");
    return join(this.#root, name + BUNDLE_DIRECTORY_SUFFIX);
  }

  /**
   * `mkdir -p` with 0700. New directories are entries of their parents, so
   * the parents are fsynced too: otherwise a crash could lose a directory
   * holding a file whose own rename was made durable.
   */
  async #ensureDirectory(directory: string): Promise<void> {
    const first = await mkdir(directory, { recursive: true, mode: DIR_MODE });
    if (first === undefined) return;
    for (let current = directory; ; current = dirname(current)) {
      await syncDirectory(dirname(current));
      if (current === first || dirname(current) === current) break;
    }
  }

  async #walk(segments: string[], out: string[]): Promise<void> {
    const directory = join(this.#root, ...segments);
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isAbsent(error)) return; // missing prefix, or removed while we walked
      throw error;
    }
    for (const entry of entries) {
      const name = entry.name;
      if (segments.length === 0 && isReservedTopSegment(name)) continue;
      if (!SEGMENT.test(name) || name === "." || name === "..") continue;
      let kind;
      try {
        kind = await entryKind(directory, entry);
      } catch (error) {
        if (isAbsent(error)) continue; // deleted while we walked
        throw error;
      }
      if (kind === "directory") await this.#walk([...segments, name], out);
      else if (kind === "file" && !ATOMIC_TEMP.test(name)) out.push([...segments, name].join("/"));
    }
  }

  async #commitBundle(name: string, directory: string, entries: [string, BundleFile][]): Promise<void> {
    await this.#ensureDirectory(directory);
    const current = join(directory, CURRENT);
    const currentTmp = join(directory, CURRENT_TMP);
    let before: string | undefined;
    try {
      before = await readlink(current);
    } catch (error) {
      if (!isAbsent(error)) throw error; // EINVAL: `current` is not a symlink; do not guess, let a human look
    }

    const version = nextVersion(before);
    const partial = join(directory, `.partial-${version}-${process.pid}-${HOST_TAG}`);
    const complete = join(directory, version);
    try {
      await mkdir(partial, { mode: DIR_MODE });
      await Promise.all(
        entries.map(([file, content]) =>
          writeNewFile(join(partial, file), content.data, content.secret ? SECRET_MODE : FILE_MODE),
        ),
      );
      await syncDirectory(partial);
      await rename(partial, complete);
      // Durable before `current` may name it, whatever order the filesystem writes metadata in.
      await syncDirectory(directory);
    } catch (error) {
      await rm(partial, { recursive: true, force: true }).catch(() => {});
      throw error;
    }

    try {
      await this.#createMissingLinks(name, entries);
      // A leftover `current.tmp` is from a crashed writer (ours are serialised): it never became current.
      await unlink(currentTmp).catch(ignoreAbsent);
      await symlink(version, currentTmp);
      await rename(currentTmp, current);
    } catch (error) {
      await unlink(currentTmp).catch(() => {});
      const now = await readlink(current).catch(() => undefined);
      if (now !== version) await discardVersion(directory, version).catch(() => {});
      throw error;
    }
    await syncDirectory(directory);

    // Committed. What follows is housekeeping: failing it must not report the store as failed.
    await this.#repairLinks(name, entries).catch(() => {});
    await pruneBundle(directory, version).catch(() => {});
  }

  /** Creates absent stable links; never replaces anything, so no reader loses a file before the commit. */
  async #createMissingLinks(name: string, entries: [string, BundleFile][]): Promise<void> {
    let created = false;
    for (const [file] of entries) {
      try {
        await symlink(stableTarget(name, file), join(this.#root, `${name}.${file}`));
        created = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
    }
    if (created) await syncDirectory(this.#root);
  }

  /**
   * After a commit: points every stable path of the bundle at `current`
   * (replacing, atomically, a regular file of the older layout or a wrong
   * link), and removes links of files the bundle no longer has and
   * temporary links of crashed runs. Each step on its own, best effort.
   */
  async #repairLinks(name: string, entries: [string, BundleFile][]): Promise<void> {
    let changed = false;
    const files = new Set(entries.map(([file]) => file));
    for (const file of files) {
      const path = join(this.#root, `${name}.${file}`);
      const target = stableTarget(name, file);
      const existing = await readlink(path).catch(() => undefined);
      if (existing === target) continue;
      const temp = join(this.#root, `.${name}.${file}.${randomHex()}.tmp`);
      try {
        await symlink(target, temp);
        await rename(temp, path);
        changed = true;
      } catch {
        await unlink(temp).catch(() => {});
      }
    }

    const tempLink = new RegExp(`^\\.${escapeRegExp(name)}\\..+\\.[0-9a-f]{8}\\.tmp$`);
    for (const entry of await readdir(this.#root, { withFileTypes: true })) {
      if (!entry.isSymbolicLink()) continue;
      const path = join(this.#root, entry.name);
      let obsolete = false;
      if (entry.name.startsWith(`${name}.`)) {
        const file = entry.name.slice(name.length + 1);
        obsolete = !files.has(file) && (await readlink(path).catch(() => undefined)) === stableTarget(name, file);
      } else {
        obsolete = tempLink.test(entry.name);
      }
      if (obsolete) {
        await unlink(path).catch(() => {});
        changed = true;
      }
    }
    if (changed) await syncDirectory(this.#root);
  }
}

/** A lock held through `FileStorage.tryLock`. */
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

/** `false` only when the kernel says no such process; pids we cannot judge count as alive (the lease decides). */
function isAlive(pid: number): boolean {
  // 0 and negative pids would address process groups.
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

let cachedBootId: string | null | undefined;
/** The kernel's boot id: a pid means the same process only within one boot. `null` off Linux or in sandboxes hiding /proc. */
function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

/** All regular files of one version directory. Entries of other types are not ours and ignored. */
async function readVersion(directory: string): Promise<Record<string, string>> {
  const names: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if ((await entryKind(directory, entry)) === "file") names.push(entry.name);
  }
  const contents = await Promise.all(names.map((name) => readFile(join(directory, name), "utf8")));
  // fromEntries defines own properties, so even a file named `__proto__` stays data.
  return Object.fromEntries(names.map((name, i) => [name, contents[i]!]));
}

/**
 * Deletes old versions beyond the newest {@link OLD_BUNDLE_VERSIONS}, never
 * the one `current` names nor the one just committed; `.partial-`
 * directories whose writer is dead (or that are abandoned); and trash.
 */
async function pruneBundle(directory: string, committed: string): Promise<void> {
  const current = await readlink(join(directory, CURRENT)).catch(() => undefined);
  const entries = await readdir(directory, { withFileTypes: true });
  const old = entries
    .filter((entry) => entry.isDirectory() && VERSION.test(entry.name) && entry.name !== committed && entry.name !== current)
    .map((entry) => entry.name)
    .sort()
    .reverse();
  for (const version of old.slice(OLD_BUNDLE_VERSIONS)) {
    await discardVersion(directory, version).catch(() => {});
  }

  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.name.startsWith(TRASH_PREFIX)) {
      await rm(path, { recursive: true, force: true }).catch(() => {});
      continue;
    }
    const partial = PARTIAL.exec(entry.name);
    if (!partial) continue;
    const writerDead = partial[3] === HOST_TAG && !isAlive(Number(partial[2]));
    const age = Date.now() - ((await lstat(path).catch(() => undefined))?.mtimeMs ?? Date.now());
    if (writerDead || age > ABANDONED_AFTER_MS) {
      await rm(path, { recursive: true, force: true }).catch(() => {});
    }
  }
}

/**
 * Renames a version out of the way before deleting it: a reader then finds
 * either the whole directory or none of it (and starts over), never a
 * directory `rm` has half emptied.
 */
async function discardVersion(directory: string, version: string): Promise<void> {
  const trash = join(directory, `${TRASH_PREFIX}${version}-${randomHex()}`);
  await rename(join(directory, version), trash);
  await rm(trash, { recursive: true, force: true });
}

/** A version name after `previous`, even if the clock went back: pruning keeps the newest by name. */
function nextVersion(previous: string | undefined): string {
  let ms = Date.now();
  if (previous !== undefined && VERSION.test(previous)) ms = Math.max(ms, Number(previous.slice(0, 15)) + 1);
  return `${String(ms).padStart(15, "0")}-${randomHex()}`;
}

/**
 * Regular file, directory, or anything else (symlinks included). Some
 * filesystems do not report entry types in `readdir`; those are `lstat`ed
 * rather than silently skipped.
 */
async function entryKind(directory: string, entry: Dirent): Promise<"file" | "directory" | "other"> {
  if (entry.isFile()) return "file";
  if (entry.isDirectory()) return "directory";
  if (entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()) {
    return "other";
  }
  const info = await lstat(join(directory, entry.name));
  return info.isFile() ? "file" : info.isDirectory() ? "directory" : "other";
}

function stableTarget(name: string, file: string): string {
  // Relative, so the whole directory can be moved or mounted elsewhere.
  return `${name}${BUNDLE_DIRECTORY_SUFFIX}/${CURRENT}/${file}`;
}

/** "Not there": missing, a path component that is a file, or a directory where a value was expected. */
function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

function ignoreAbsent(error: unknown): void {
  if (!isAbsent(error)) throw error;
}

function randomHex(): string {
  return crypto.randomUUID().slice(0, 8);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
