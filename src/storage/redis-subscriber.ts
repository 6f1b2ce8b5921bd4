import type { RedisClient } from "bun";
import type { SubscribeOptions } from "./notifier.ts";
import { messageOf, openClient, RedisUnavailableError, withDeadline } from "./redis-connection.ts";
import { SEGMENT } from "./keys.ts";

const BUNDLE_EVENT_PREFIX = "bundle:";
/** Reconnect delays of the subscriber: doubling from the first to the last. */
const RESUBSCRIBE_MIN_MS = 100;
const RESUBSCRIBE_MAX_MS = 5_000;

/** The message published on the events channel when bundle `name` was stored. */
export function bundleEvent(name: string): string {
  return `${BUNDLE_EVENT_PREFIX}${name}`;
}

/** One `subscribe` call: its callback and options. */
export interface BundleListener extends SubscribeOptions {
  onBundle: (name: string) => void;
}

export interface SubscriberSettings {
  url: string;
  channel: string;
  description: string;
  timeoutMs: number;
  healthCheckMs: number;
  listeners: Set<BundleListener>;
  /** Every bundle of the namespace: announced after a re-subscription. */
  bundleNames: () => Promise<string[]>;
}

/**
 * The subscription connection: a client of its own (a subscribed client can
 * send nothing else), re-opened with growing delays whenever it closes or a
 * health-check ping goes unanswered. Each connection gets a new client:
 * Bun keeps a client's listeners across connect() calls but does not send
 * SUBSCRIBE again on its own.
 */
export class Subscriber {
  readonly #settings: SubscriberSettings;
  #client: RedisClient | undefined;
  #stopped = false;
  #failures = 0;
  #everReady = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #healthTimer: ReturnType<typeof setInterval> | undefined;
  ready = false;

  constructor(settings: SubscriberSettings) {
    this.#settings = settings;
  }

  start(): void {
    void this.#open();
  }

  stop(): void {
    this.#stopped = true;
    this.ready = false;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#healthTimer);
    if (this.#client) this.#drop(this.#client);
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    const { url, channel, timeoutMs, description } = this.#settings;
    const deadline = Date.now() + timeoutMs;
    const client = openClient(url, timeoutMs);
    this.#client = client;
    client.onclose = () => {
      if (this.#client === client) this.#retry(new RedisUnavailableError(`redis storage ${description}: subscription connection closed`));
    };
    try {
      const timedOut = () => new Error(`no answer within ${timeoutMs} ms`);
      await withDeadline(client.connect(), deadline, timedOut);
      await withDeadline(client.subscribe(channel, (message) => this.#deliver(message)), deadline, timedOut);
    } catch (error) {
      if (this.#client === client) {
        this.#retry(new RedisUnavailableError(`redis storage ${description}: cannot subscribe to ${channel} (${messageOf(error)})`, { cause: error }));
      }
      return;
    }
    if (this.#client !== client || this.#stopped) return;
    this.#failures = 0;
    this.ready = true;
    clearInterval(this.#healthTimer);
    this.#healthTimer = setInterval(() => void this.#check(client), this.#settings.healthCheckMs);
    (this.#healthTimer as { unref?: () => void }).unref?.();
    const resubscribed = this.#everReady;
    this.#everReady = true;
    for (const listener of [...this.#settings.listeners]) this.#call(listener, () => listener.onReady?.());
    if (resubscribed) await this.#announceAll();
  }

  /** After a gap, messages may have been lost: every bundle counts as changed. */
  async #announceAll(): Promise<void> {
    let names: string[];
    try {
      names = await this.#settings.bundleNames();
    } catch (error) {
      this.#report(error);
      return;
    }
    for (const name of names) this.#emit(name);
  }

  #deliver(message: string): void {
    if (typeof message !== "string" || !message.startsWith(BUNDLE_EVENT_PREFIX)) return;
    const name = message.slice(BUNDLE_EVENT_PREFIX.length);
    if (SEGMENT.test(name)) this.#emit(name);
  }

  #emit(name: string): void {
    if (this.#stopped) return;
    for (const listener of [...this.#settings.listeners]) this.#call(listener, () => listener.onBundle(name));
  }

  #call(listener: BundleListener, action: () => void): void {
    try {
      action();
    } catch (error) {
      try {
        listener.onError?.(error);
      } catch {
        // A failing error handler has nowhere left to report to.
      }
    }
  }

  #report(error: unknown): void {
    for (const listener of [...this.#settings.listeners]) {
      const onError = listener.onError;
      if (onError) this.#call(listener, () => onError(error));
    }
  }

  async #check(client: RedisClient): Promise<void> {
    if (this.#client !== client || this.#stopped) return;
    const { timeoutMs, description } = this.#settings;
    try {
      await withDeadline(client.ping(), Date.now() + timeoutMs, () => new Error(`no answer to PING within ${timeoutMs} ms`));
    } catch (error) {
      if (this.#client === client) {
        this.#retry(new RedisUnavailableError(`redis storage ${description}: subscription health check failed (${messageOf(error)})`, { cause: error }));
      }
    }
  }

  /** Drops the current client and opens a new one after a delay that doubles with each failure in a row. */
  #retry(error: unknown): void {
    if (this.#client) this.#drop(this.#client);
    this.ready = false;
    clearInterval(this.#healthTimer);
    if (this.#stopped) return;
    this.#report(error);
    const delay = Math.min(RESUBSCRIBE_MAX_MS, RESUBSCRIBE_MIN_MS * 2 ** this.#failures);
    this.#failures = Math.min(this.#failures + 1, 16);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#open(), delay);
    // A subscription alone does not keep the process running.
    (this.#retryTimer as { unref?: () => void }).unref?.();
  }

  #drop(client: RedisClient): void {
    if (this.#client === client) this.#client = undefined;
    client.onclose = null;
    client.close();
  }
}
