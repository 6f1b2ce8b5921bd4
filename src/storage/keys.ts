import type { BundleFile } from "./storage.ts";

/**
 * The key rules every storage implementation shares, written once: a key one
 * implementation accepts is never refused by another, so keys (and whole
 * deployments) move between the filesystem and Redis unchanged. Every check
 * here runs before any I/O and throws a TypeError (a RangeError for a ttl)
 * naming what is wrong.
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

/** Characters a key can have: a list prefix with any other character matches no key. */
const KEY_CHARACTERS = /^[A-Za-z0-9._@/-]*$/;

/**
 * Names the filesystem layout keeps for itself, reserved everywhere so that
 * no key stored in Redis could fail to move to the filesystem: a first
 * segment `locks` (lock files) or ending in `.d` (bundle directories).
 */
export const LOCKS_DIRECTORY = "locks";
export const BUNDLE_DIRECTORY_SUFFIX = ".d";

/** The temporary names `writeFileAtomic` uses, `.<name>.<pid>.<8 hex>.tmp`: reserved as a key's last segment. */
export const ATOMIC_TEMP = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/** Whether a key's first segment is one the filesystem layout keeps for itself. */
export function isReservedTopSegment(segment: string): boolean {
  return segment === LOCKS_DIRECTORY || segment.endsWith(BUNDLE_DIRECTORY_SUFFIX);
}

/** Why `key` is not a valid key path, or `undefined` when it is. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return `must be 1 to ${MAX_KEY_LENGTH} characters`;
  const segments = key.split("/");
  for (const segment of segments) {
    if (segment === "") return "has an empty segment (leading, trailing or doubled /)";
    if (segment === "." || segment === "..") return `has a "${segment}" segment`;
    if (!SEGMENT.test(segment)) return "may contain only A-Z a-z 0-9 . _ @ - and /";
    if (segment.length > MAX_SEGMENT_LENGTH) return `has a segment longer than ${MAX_SEGMENT_LENGTH} characters`;
  }
  if (isReservedTopSegment(segments[0]!)) {
    return `is reserved: "${LOCKS_DIRECTORY}/" holds locks and "*${BUNDLE_DIRECTORY_SUFFIX}/" bundles`;
  }
  if (ATOMIC_TEMP.test(segments.at(-1)!)) return "is reserved: it has the form of a temporary file";
  return undefined;
}

/** @throws TypeError unless `key` is a string and a valid key path. */
export function checkKey(key: unknown, what = "storage key"): asserts key is string {
  if (typeof key !== "string") throw new TypeError(`${what} must be a string`);
  const problem = keyProblem(key);
  if (problem !== undefined) {
    const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
    throw new TypeError(`invalid ${what} ${shown}: ${problem}`);
  }
}

/** @throws TypeError unless `name` is a valid key of one segment: a bundle, bundle file or lock name. */
export function checkName(name: unknown, what: string): asserts name is string {
  checkKey(name, what);
  if (name.includes("/")) throw new TypeError(`invalid ${what} ${JSON.stringify(name)}: must not contain /`);
}

/** @throws TypeError unless `value` is a string: storage holds text. */
export function checkValue(key: string, value: unknown): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`value of ${JSON.stringify(key)} must be a string`);
}

/** @throws RangeError unless `ttlMs` is a positive, finite number of milliseconds. */
export function checkTtl(ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`lock ttl must be a positive number of milliseconds, got ${String(ttlMs)}`);
  }
}

/**
 * Checks a bundle before it is stored, and resolves its files as entries.
 * Besides the name rules, a file name must not be `d` or end in `.d`, and
 * `<name>.<file>` must fit in one segment: on the filesystem that is the
 * bundle's stable path, beside the `<name>.d` directory.
 * @throws TypeError on an invalid name or file name, no files, or a file without string data.
 */
export function checkBundle(name: unknown, files: unknown): [string, BundleFile][] {
  checkName(name, "bundle name");
  const entries = Object.entries((files ?? {}) as Record<string, BundleFile>);
  if (entries.length === 0) throw new TypeError(`bundle ${JSON.stringify(name)} has no files`);
  for (const [file, content] of entries) {
    checkName(file, "bundle file name");
    if (file === "d" || file.endsWith(BUNDLE_DIRECTORY_SUFFIX)) {
      throw new TypeError(`bundle file name ${JSON.stringify(file)} is reserved: it must not end in "${BUNDLE_DIRECTORY_SUFFIX}"`);
    }
    if (name.length + 1 + file.length > MAX_SEGMENT_LENGTH) {
      throw new TypeError(`bundle ${JSON.stringify(name)}: stable path "${name}.${file}" is longer than ${MAX_SEGMENT_LENGTH} characters`);
    }
    if (typeof content?.data !== "string") throw new TypeError(`bundle file ${JSON.stringify(file)} must have string data`);
  }
  return entries;
}

/**
 * Whether some valid key could start with `prefix` (a plain string prefix,
 * not necessarily whole segments): `list` resolves `[]` at once for one that
 * cannot, such as `../`, `a//`, `locks/` or `a:b`, rather than throwing.
 * @throws TypeError unless `prefix` is a string.
 */
export function couldPrefixKey(prefix: unknown): prefix is string {
  if (typeof prefix !== "string") throw new TypeError("list prefix must be a string");
  if (prefix.length > MAX_KEY_LENGTH || !KEY_CHARACTERS.test(prefix)) return false;
  const slash = prefix.lastIndexOf("/");
  // What comes before the last `/` is complete segments: unless a key just below them is valid, none can match.
  return slash === -1 || keyProblem(`${prefix.slice(0, slash)}/x`) === undefined;
}
