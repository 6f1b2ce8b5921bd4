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
    const file = await open(temp, "wx", mode);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dir);
}

/** Makes a rename in `dir` durable. Some filesystems refuse to fsync a directory; that is not an error. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close();
}
