import type { Dirent } from "node:fs";
import { lstat, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { syncDirectory } from "./atomic-file.ts";

/**
 * The filesystem calls and conventions the parts of `FileStorage` (keys,
 * bundles, locks) share: the modes they create things with, directories
 * that survive a crash, and what counts as "not there".
 */

/** Directories: only the owner may list or enter them. */
export const DIR_MODE = 0o700;
/** Private keys, account keys, lock files. */
export const SECRET_MODE = 0o600;
/**
 * Non-secret values (certificates, metadata) are 0644: the 0700 directories
 * are what keeps other users out; should an admin open them up (so a proxy
 * can read the certificate), the private keys still stay owner-only.
 */
export const FILE_MODE = 0o644;

/**
 * `mkdir -p` with 0700. New directories are entries of their parents, so
 * the parents are fsynced too: otherwise a crash could lose a directory
 * holding a file whose own rename was made durable. Existing directories
 * keep their mode: an admin may have chosen it.
 */
export async function ensureDirectory(directory: string): Promise<void> {
  const first = await mkdir(directory, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  for (let current = directory; ; current = dirname(current)) {
    await syncDirectory(dirname(current));
    if (current === first || dirname(current) === current) break;
  }
}

/**
 * Regular file, directory, or anything else (symlinks included). Some
 * filesystems do not report entry types in `readdir`; those are `lstat`ed
 * rather than silently skipped.
 */
export async function entryKind(directory: string, entry: Dirent): Promise<"file" | "directory" | "other"> {
  if (entry.isFile()) return "file";
  if (entry.isDirectory()) return "directory";
  if (entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()) {
    return "other";
  }
  const info = await lstat(join(directory, entry.name));
  return info.isFile() ? "file" : info.isDirectory() ? "directory" : "other";
}

/** "Not there": missing, a path component that is a file, or a directory where a value was expected. */
export function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

export function ignoreAbsent(error: unknown): void {
  if (!isAbsent(error)) throw error;
}

export function randomHex(): string {
  return crypto.randomUUID().slice(0, 8);
}
