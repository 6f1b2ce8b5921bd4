import { open, readdir, rename, mkdir, stat, unlink } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { isAlive } from "./file-owner.ts";

/**
 * Writes `data` to `path` so that a reader, or the next start after a crash,
 * sees either the old file or the new one, never a part: write a temporary
 * file beside it, fsync it, rename it over the target, fsync the directory.
 *
 * `mode` is applied when the temporary file is created, so a secret is never
 * readable by others, not even for a moment (`Bun.write` ignores `mode`).
 *
 * @throws the underlying I/O error (ENOSPC, EROFS, EACCES…); the target is
 * then untouched and the temporary file removed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    await writeNewFile(temp, data, mode);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dir);
}

/**
 * Creates a file that must not exist yet, with `mode` from the start, and
 * makes its content durable (fsync) before returning.
 */
export async function writeNewFile(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const handle = await open(path, "wx", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename in `dir` durable. Some filesystems refuse to fsync a directory; that is not an error. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close();
}

/** The temporary names `writeFileAtomic` uses: `.<name>.<pid>.<8 hex>.tmp`. */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;
/** A temporary file this old is stale whoever wrote it: a write takes seconds at most. */
const STALE_AFTER_MS = 60 * 60_000;
/** Directories below the root visited at most (a certificate store is a few levels deep). */
const MAX_DEPTH = 4;

/**
 * Removes what `writeFileAtomic` leaves behind when its process is killed
 * mid-write (SIGKILL, power loss): temporary files whose writer no longer
 * runs, or that are over an hour old. Run at start on the directories this
 * server writes to, so a crash never costs disk for good (a refresh of a
 * large source leaves a temporary file as large as the source).
 *
 * A writer counts as running when a process of its pid runs on this host;
 * a directory shared over the network with another host is cleaned of that
 * host's files only once they are an hour old.
 *
 * Never throws: a directory that is missing or unreadable has nothing to clean.
 *
 * @returns how many files were removed.
 */
export async function removeStaleTempFiles(root: string, depth = 0): Promise<number> {
  let removed = 0;
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isDirectory() && depth < MAX_DEPTH) {
      removed += await removeStaleTempFiles(path, depth + 1);
      continue;
    }
    const match = entry.isFile() ? TEMP_NAME.exec(entry.name) : null;
    if (!match) continue;
    const age = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now());
    const writer = Number(match[1]);
    if (writer === process.pid && age < STALE_AFTER_MS) continue;
    if (isAlive(writer) && age < STALE_AFTER_MS) continue;
    if (await unlink(path).then(() => true, () => false)) removed++;
  }
  return removed;
}
