import { lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import { syncDirectory, writeNewFile } from "./atomic-file.ts";
import { DIR_MODE, ensureDirectory, entryKind, FILE_MODE, ignoreAbsent, isAbsent, randomHex, SECRET_MODE } from "./file-io.ts";
import { HOST_TAG, isAlive } from "./file-owner.ts";
import { BUNDLE_DIRECTORY_SUFFIX } from "./keys.ts";
import type { BundleFile } from "./storage.ts";

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
/** How often `load` starts over when the version it resolved is pruned under it. */
const LOAD_ATTEMPTS = 5;

/**
 * The versioned bundles of a `FileStorage` root: bundle `<name>` lives in
 * `<root>/<name>.d/<version>/<file>`, with `<root>/<name>.d/current` a
 * relative symlink to the committed version, and `<root>/<name>.<file>`
 * relative symlinks to `<name>.d/current/<file>`, so
 * `certs/docs.example.com.cert.pem` and `.key.pem` stay where users and
 * other programs expect them. Names and files are checked by the caller.
 */
export class FileBundles {
  readonly #root: string;
  /** One `store` at a time per bundle in this process: they share `current.tmp`. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.#root = root;
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
  async load(name: string): Promise<Record<string, string> | undefined> {
    const directory = this.#directory(name);
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
   * @throws any I/O error before the commit, after which the previous bundle
   * is still current.
   */
  async store(name: string, entries: [string, BundleFile][]): Promise<void> {
    const directory = this.#directory(name);
    const previous = this.#queues.get(name) ?? Promise.resolve();
    const run = previous.then(() => this.#commit(name, directory, entries));
    const tail = run.catch(() => {});
    this.#queues.set(name, tail);
    try {
      await run;
    } finally {
      if (this.#queues.get(name) === tail) this.#queues.delete(name);
    }
  }

  #directory(name: string): string {
    return join(this.#root, name + BUNDLE_DIRECTORY_SUFFIX);
  }

  async #commit(name: string, directory: string, entries: [string, BundleFile][]): Promise<void> {
    await ensureDirectory(directory);
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

function stableTarget(name: string, file: string): string {
  // Relative, so the whole directory can be moved or mounted elsewhere.
  return `${name}${BUNDLE_DIRECTORY_SUFFIX}/${CURRENT}/${file}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
