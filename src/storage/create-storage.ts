import { resolve } from "node:path";
import type { Storage } from "./storage.ts";
import { FileStorage } from "./file-storage.ts";

export interface StorageSettings {
  /** `file`, or a `redis://` URL. */
  storage: string;
  certsDir: string;
  namespace: string;
  encryptionKey?: string;
}

/** Storage that can tell other replicas about a new certificate bundle as soon as it is stored. */
export interface NotifyingStorage extends Storage {
  /** Calls `onBundle(name)` when any replica stores a bundle; returns an unsubscribe function. */
  subscribe(onBundle: (name: string) => void): () => void;
}

export function canNotify(storage: Storage): storage is NotifyingStorage {
  return typeof (storage as Partial<NotifyingStorage>).subscribe === "function";
}

/**
 * The storage `MCP_STORAGE` names: the certificate directory (default) or a
 * shared Redis. The Redis client is only loaded when it is used.
 */
export async function createStorage(settings: StorageSettings): Promise<Storage> {
  if (settings.storage === "file") return new FileStorage(resolve(settings.certsDir));
  const { RedisStorage } = await import("./redis-storage.ts");
  return new RedisStorage({ url: settings.storage, namespace: settings.namespace, encryptionKey: settings.encryptionKey });
}
