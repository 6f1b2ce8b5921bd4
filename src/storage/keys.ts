/**
 * The key rules every storage implementation shares, so keys (and whole
 * deployments) move between the filesystem and Redis unchanged.
 */

/** Longest accepted key, lock or bundle name: far above real keys, far below PATH_MAX. */
export const MAX_KEY_LENGTH = 512;

/**
 * Longest segment: file names are limited to 255 bytes on common
 * filesystems, and temporary and claim names add up to about 45 characters.
 */
export const MAX_SEGMENT_LENGTH = 200;

/** Characters of one segment of a key. */
export const SEGMENT = /^[A-Za-z0-9._@-]+$/;

/** Why `key` is not a valid key path, or `undefined` when it is. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return `must be 1 to ${MAX_KEY_LENGTH} characters`;
  for (const segment of key.split("/")) {
    if (segment === "") return "has an empty segment (leading, trailing or doubled /)";
    if (segment === "." || segment === "..") return `has a "${segment}" segment`;
    if (!SEGMENT.test(segment)) return "may contain only A-Z a-z 0-9 . _ @ - and /";
    if (segment.length > MAX_SEGMENT_LENGTH) return `has a segment longer than ${MAX_SEGMENT_LENGTH} characters`;
  }
  return undefined;
}
