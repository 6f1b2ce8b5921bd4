import { open, rename, mkdir, unlink } from "node:fs/promises";
import { dirname, basename, join } from "node:path";

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
