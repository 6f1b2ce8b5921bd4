import { randomBytes } from "node:crypto";
import type { Storage } from "../storage/storage.ts";
import type { Logger } from "../log/index.ts";
import type { ClientHasher } from "./client-hash.ts";
import type { Bucket, QueryLog } from "./query-log.ts";

/**
 * Insights shared between replicas through the storage they share (Redis):
 * each replica stores its own buckets under `insights/replicas/<id>` every
 * `intervalMs` and reads the others'; the views merge them (QueryLog.view).
 * Simple on purpose: no counter is written by two replicas, so there is
 * nothing to lock or lose, and a replica that stops simply ages out of the
 * window. The client-hash key is shared too (`insights/key`), so that one
 * client counts once whichever replica it asks.
 */
export class SharedInsights {
  readonly #storage: Storage;
  readonly #log: QueryLog;
  readonly #logger: Logger;
  readonly #id = randomBytes(8).toString("hex");
  readonly #intervalMs: number;
  readonly #windowMs: number;
  #others: Bucket[] = [];
  #timer: Timer | undefined;
  #syncing: Promise<void> | undefined;

  constructor(options: { storage: Storage; log: QueryLog; logger: Logger; intervalMs: number; windowMs?: number }) {
    this.#storage = options.storage;
    this.#log = options.log;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs;
    this.#windowMs = options.windowMs ?? 86_400_000;
  }

  /** The other replicas' buckets, as of the last sync. */
  get others(): readonly Bucket[] {
    return this.#others;
  }

  /**
   * Adopts the shared client-hash key (creating it if no replica has), then
   * syncs every `intervalMs`. A storage failure is logged and retried at the
   * next sync; insights never stop a server.
   */
  async start(hasher: ClientHasher): Promise<void> {
    try {
      let key = await this.#storage.load("insights/key");
      if (key === undefined) {
        const lock = await this.#storage.tryLock("insights-key", 10_000);
        try {
          key = (await this.#storage.load("insights/key")) ?? randomBytes(32).toString("base64");
          if (lock) await this.#storage.store("insights/key", key, { secret: true });
        } finally {
          await lock?.release();
        }
      }
      hasher.rekey(Buffer.from(key, "base64"));
    } catch (error) {
      this.#logger.warn("insights: the shared client key could not be read; counting clients per replica", { error: error as Error });
    }
    await this.sync();
    this.#timer = setInterval(() => void this.sync(), this.#intervalMs);
    this.#timer.unref?.();
  }

  /** Stores this replica's buckets and reads the others'. Concurrent calls share one sync. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    try {
      const now = Date.now();
      await this.#storage.store(`insights/replicas/${this.#id}`, JSON.stringify({ savedAt: now, buckets: this.#log.buckets() }));
      const others: Bucket[] = [];
      for (const key of await this.#storage.list("insights/replicas/")) {
        if (key.endsWith(`/${this.#id}`)) continue;
        const text = await this.#storage.load(key);
        const saved = text ? (JSON.parse(text) as { savedAt: number; buckets: Bucket[] }) : undefined;
        if (!saved || now - saved.savedAt > this.#windowMs) {
          // A replica gone for a whole window has nothing left to say.
          await this.#storage.delete(key).catch(() => {});
          continue;
        }
        if (Array.isArray(saved.buckets)) others.push(...saved.buckets);
      }
      this.#others = others;
    } catch (error) {
      this.#logger.warn("insights: sharing with the other replicas failed; retried at the next sync", { error: error as Error });
    }
  }

  /** Stops syncing after one last store, so the others see this replica's latest counts. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.sync();
  }
}
