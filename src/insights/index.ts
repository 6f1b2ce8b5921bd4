import type { Logger } from "../log/index.ts";
import type { Storage } from "../storage/storage.ts";
import { ClientHasher } from "./client-hash.ts";
import { QueryLog, type InsightsView, type QueryLogOptions } from "./query-log.ts";
import { SharedInsights } from "./shared-insights.ts";

export type { InsightsView } from "./query-log.ts";

/** What a search tells insights. */
export interface SearchRecord {
  query: string;
  results: number;
  /** The HTTP layer's client key; hashed here at once, never kept. */
  client?: string;
}

export interface InsightsOptions extends QueryLogOptions {
  logger: Logger;
  /** Shared storage (Redis) to merge the counts of several replicas; none: this process only. */
  storage?: Storage;
  /** How often replicas exchange their counts; default 30 s. */
  shareIntervalMs?: number;
  /** Told each search and whether it found nothing (the /metrics counters). */
  onRecord?: (zeroResults: boolean) => void;
}

/**
 * What assistants ask, for the docs' owners (see query-log.ts): the one
 * object the server wires in. `record` is cheap and synchronous; sharing
 * with replicas runs in the background.
 */
export class Insights {
  readonly #log: QueryLog;
  readonly #hasher = new ClientHasher();
  readonly #shared: SharedInsights | undefined;
  readonly #onRecord?: (zeroResults: boolean) => void;

  constructor(options: InsightsOptions) {
    this.#log = new QueryLog(options);
    this.#onRecord = options.onRecord;
    this.#shared = options.storage
      ? new SharedInsights({ storage: options.storage, log: this.#log, logger: options.logger, intervalMs: options.shareIntervalMs ?? 30_000, windowMs: options.windowMs })
      : undefined;
  }

  record(search: SearchRecord): void {
    this.#log.record(search.query, search.results, this.#hasher.hash(search.client ?? "unknown"));
    this.#onRecord?.(search.results === 0);
  }

  /** The window over every replica, top `limit` of each kind. */
  view(limit = 10): InsightsView {
    return this.#log.view(limit, this.#shared?.others);
  }

  /** Starts sharing with replicas, when there is storage to share through. */
  async start(): Promise<void> {
    await this.#shared?.start(this.#hasher);
  }

  /** Syncs now (for tests and a prompt status page after a burst). */
  async sync(): Promise<void> {
    await this.#shared?.sync();
  }

  async stop(): Promise<void> {
    await this.#shared?.stop();
  }
}
