import { resolve } from "node:path";
import type { BundleNotifier } from "./notifier.ts";
import type { Storage } from "./storage.ts";
import { chmod, stat } from "node:fs/promises";
import { removeStaleTempFiles } from "./atomic-file.ts";
import { DIR_MODE } from "./file-io.ts";
import { FileStorage } from "./file-storage.ts";

export interface StorageSettings {
  /** `file`, or a `redis://` URL. */
  storage: string;
  certsDir: string;
  namespace: string;
  encryptionKey?: string;
}

/** A storage as `MCP_STORAGE` configures it, with its notifier when it is shared. */
export interface OpenedStorage {
  storage: Storage;
  /** Present for shared storage (Redis): tells this replica about bundles the others store. */
  notifier?: BundleNotifier;
  /** What opening it had to put right, for the log (a directory readable by others). */
  notes: string[];
}

/**
 * The storage `MCP_STORAGE` names: the certificate directory (default) or a
 * shared Redis. The Redis client is only loaded when it is used.
 * @throws TypeError on a malformed Redis URL, namespace or encryption key.
 */
export async function createStorage(settings: StorageSettings): Promise<OpenedStorage> {
  if (settings.storage === "file") {
    const root = resolve(settings.certsDir);
    return { storage: new FileStorage(root), notes: await prepareDirectory(root) };
  }
  const { RedisStorage } = await import("./redis-storage.ts");
  const redis = new RedisStorage({ url: settings.storage, namespace: settings.namespace, encryptionKey: settings.encryptionKey });
  return { storage: redis, notifier: redis, notes: [] };
}

/**
 * An existing certificate directory as the README promises it: closed to
 * everyone but the server's user (it holds private keys; the key files are
 * 0600 themselves, but their names and the account files are not anyone
 * else's business), and free of temporary files a killed process left.
 */
async function prepareDirectory(root: string): Promise<string[]> {
  const notes: string[] = [];
  const info = await stat(root).catch(() => undefined);
  if (info?.isDirectory() && (info.mode & 0o077) !== 0) {
    const was = (info.mode & 0o777).toString(8);
    await chmod(root, DIR_MODE).then(
      () => notes.push(`${root} was mode ${was}; set to 700, since it holds private keys`),
      (error: Error) => notes.push(`${root} is mode ${was} and could not be set to 700 (${error.message}): others may list the private key files`),
    );
  }
  const removed = await removeStaleTempFiles(root);
  if (removed > 0) notes.push(`removed ${removed} temporary file(s) a stopped process left in ${root}`);
  return notes;
}
