import { resolve } from "node:path";
import type { BundleNotifier } from "./notifier.ts";
import type { Storage } from "./storage.ts";
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
}

/**
 * The storage `MCP_STORAGE` names: the certificate directory (default) or a
 * shared Redis. The Redis client is only loaded when it is used.
 * @throws TypeError on a malformed Redis URL, namespace or encryption key.
 */
export async function createStorage(settings: StorageSettings): Promise<OpenedStorage> {
  if (settings.storage === "file") return { storage: new FileStorage(resolve(settings.certsDir)) };
  const { RedisStorage } = await import("./redis-storage.ts");
  const redis = new RedisStorage({ url: settings.storage, namespace: settings.namespace, encryptionKey: settings.encryptionKey });
  return { storage: redis, notifier: redis };
}
