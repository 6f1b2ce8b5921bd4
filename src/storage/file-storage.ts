import { readFile, readdir, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "./atomic-file.ts";
import { FileBundles } from "./file-bundle.ts";
import { ensureDirectory, entryKind, FILE_MODE, isAbsent, SECRET_MODE } from "./file-io.ts";
import { tryFileLock } from "./file-lock.ts";
import {
  ATOMIC_TEMP,
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
import type { BundleFile, Lock, Storage, StoreOptions } from "./storage.ts";

/**
 * `Storage` on the local filesystem, under one root directory (`MCP_CERTS_DIR`).
 *
 * Layout, one concept per file:
 * - a key `a/b/c` is the file `<root>/a/b/c` (here);
 * - a bundle `<name>` is a versioned directory `<root>/<name>.d/` with
 *   stable links `<root>/<name>.<file>` beside it, so
 *   `certs/docs.example.com.cert.pem` and `.key.pem` stay where users and
 *   other programs expect them (file-bundle.ts);
 * - a lock `<name>` is the file `<root>/locks/<name>.lock` (file-lock.ts).
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
 * Every I/O error other than "not there" propagates unchanged; the caller
 * logs and retries.
 */
export class FileStorage implements Storage {
  readonly description: string;
  readonly #root: string;
  readonly #bundles: FileBundles;

  /** `root` is created (0700) on the first write, not here: a constructor cannot fail usefully. */
  constructor(root: string) {
    this.#root = resolve(root);
    this.description = this.#root;
    this.#bundles = new FileBundles(this.#root);
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
    await ensureDirectory(dirname(path));
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
   * through the stable links, so a concurrent commit cannot pair a
   * certificate with another version's key (see file-bundle.ts).
   * @throws when `current` is not a link to a version directory (damaged by
   * hand), or on any other I/O error.
   */
  async loadBundle(name: string): Promise<Record<string, string> | undefined> {
    checkName(name, "bundle name");
    return await this.#bundles.load(name);
  }

  /**
   * Commits in one `rename` of a `current` link (see file-bundle.ts). Calls
   * for one bundle are serialised within this process. Two processes storing
   * the same bundle at once never corrupt it but one of them may fail: take
   * the bundle's lock.
   * @throws TypeError on an invalid name or file name, or no files; any I/O
   * error before the commit, after which the previous bundle is still current.
   */
  async storeBundle(name: string, files: Record<string, BundleFile>): Promise<void> {
    await this.#bundles.store(name, checkBundle(name, files));
  }

  /** The lock file `<root>/locks/<name>.lock` (see file-lock.ts). @throws TypeError, RangeError, or any I/O error. */
  async tryLock(name: string, ttlMs: number): Promise<Lock | undefined> {
    checkName(name, "lock name");
    checkTtl(ttlMs);
    return await tryFileLock(join(this.#root, LOCKS_DIRECTORY), name, ttlMs);
  }

  /** Nothing is held open between calls. */
  async close(): Promise<void> {}

  #keyPath(key: string): string {
    checkKey(key);
    return join(this.#root, ...key.split("/"));
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
}
