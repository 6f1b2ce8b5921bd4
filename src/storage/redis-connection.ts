import { RedisClient } from "bun";

/** What Bun's client accepts. */
const URL_SCHEMES = new Set(["redis:", "rediss:", "redis+tls:", "redis+unix:", "redis+tls+unix:", "valkey:", "valkeys:", "valkey+tls:", "valkey+unix:", "valkey+tls+unix:"]);

/**
 * Redis could not be reached, or did not answer in time, or the connection
 * broke during the call. The operation's outcome is then unknown: a write
 * may still have been applied (Redis executes what it already received).
 * Calls after Redis is back work again: the connection is re-established
 * on demand.
 */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
}

/**
 * The command connection: one Bun `RedisClient`, opened on demand, with
 * every call bounded in time.
 *
 * Bun's own reconnection is off (`autoReconnect: false`): with it, calls
 * made while Redis is down wait in the offline queue through up to 20
 * reconnection attempts (about 30 s), and once those are used up the
 * client fails every later call for good, even after Redis is back. Here,
 * instead, a call finding the client disconnected opens a new one, and a
 * call that does not finish in time closes the client (so a hung Redis
 * does not leave a backlog on it) and rejects.
 */
export class Connection {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #description: string;
  #client: RedisClient | undefined;
  #connecting: Promise<RedisClient> | undefined;
  #closed = false;

  constructor(url: string, timeoutMs: number, description: string) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#description = description;
  }

  /** Sends one command; connecting first if needed, all within `timeoutMs`. */
  async send(command: string, args: string[]): Promise<unknown> {
    const deadline = Date.now() + this.#timeoutMs;
    const client = await this.#connected(deadline);
    const timeout = `no answer to ${command} within ${this.#timeoutMs} ms`;
    try {
      return await withDeadline(client.send(command, args), deadline, () => {
        this.#discard(client);
        return new RedisUnavailableError(`redis storage ${this.#description} unavailable: ${timeout}`);
      });
    } catch (error) {
      if (error instanceof RedisUnavailableError) throw error;
      if (isServerError(error)) {
        throw new Error(`redis storage ${this.#description}: ${command} failed: ${(error as Error).message}`, { cause: error });
      }
      // The connection broke (or was closed by a timed-out call) while this call was waiting.
      if (this.#client === client && !client.connected) this.#discard(client);
      throw new RedisUnavailableError(`redis storage ${this.#description} unavailable: ${command} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#client) this.#discard(this.#client);
  }

  #connected(deadline: number): Promise<RedisClient> {
    if (this.#closed) return Promise.reject(new Error(`redis storage ${this.#description} is closed`));
    const client = this.#client;
    if (client?.connected) return Promise.resolve(client);
    const connecting = (this.#connecting ??= this.#connect(deadline).finally(() => {
      if (this.#connecting === connecting) this.#connecting = undefined;
    }));
    return connecting;
  }

  async #connect(deadline: number): Promise<RedisClient> {
    if (this.#client) this.#discard(this.#client);
    const client = openClient(this.#url, deadline - Date.now());
    this.#client = client;
    try {
      await withDeadline(client.connect(), deadline, () => new Error(`no answer within ${this.#timeoutMs} ms`));
    } catch (error) {
      this.#discard(client);
      throw new RedisUnavailableError(
        `redis storage ${this.#description} unavailable: cannot connect (${messageOf(error)}; is Redis running and reachable, and the password right?)`,
        { cause: error },
      );
    }
    if (this.#closed) {
      this.#discard(client);
      throw new Error(`redis storage ${this.#description} is closed`);
    }
    return client;
  }

  #discard(client: RedisClient): void {
    if (this.#client === client) this.#client = undefined;
    client.onclose = null;
    client.close();
  }
}

/**
 * Bun's client with its own reconnection and offline queue off (`Connection`
 * and `Subscriber`, in redis-subscriber.ts, reconnect on demand instead),
 * and a connection timeout covering the TCP connect and the HELLO/AUTH
 * handshake.
 */
export function openClient(url: string, connectionTimeoutMs: number): RedisClient {
  return new RedisClient(url, {
    autoReconnect: false,
    enableOfflineQueue: false,
    connectionTimeout: Math.max(1, Math.ceil(connectionTimeoutMs)),
  });
}

/** Rejects with `onTimeout()` if `promise` has not settled by `deadline` (epoch ms). */
export function withDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** An error reply from Redis (as opposed to a connection problem). */
function isServerError(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "ERR_REDIS_SERVER_ERROR";
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  if (typeof url !== "string") throw new TypeError("redis url must be a string");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the text: it may hold a password.
    throw new TypeError("invalid redis url: expected redis://[[user]:password@]host:port[/db]");
  }
  if (!URL_SCHEMES.has(parsed.protocol)) {
    throw new TypeError(`invalid redis url: unsupported scheme ${JSON.stringify(parsed.protocol)}`);
  }
  const user = parsed.username ? `${parsed.username}@` : "";
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
}
