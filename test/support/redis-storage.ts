import { RedisStorage, type RedisStorageOptions } from "../../src/storage/redis-storage.ts";
import type { TestRedis } from "./redis.ts";

/**
 * RedisStorage instances for tests, each in a namespace of its own unless
 * one is given, all closed by `closeAll()`.
 */
export function redisStorages(defaultServer: () => TestRedis) {
  const opened: RedisStorage[] = [];
  let namespaces = 0;
  return {
    open(options: Partial<RedisStorageOptions> = {}, server: TestRedis = defaultServer()): RedisStorage {
      const storage = new RedisStorage({
        url: server.url,
        namespace: `test-${process.pid}-${++namespaces}`,
        timeoutMs: 2_000,
        ...options,
      });
      opened.push(storage);
      return storage;
    },
    closeAll(): void {
      for (const storage of opened.splice(0)) void storage.close();
    },
  };
}

/** The raw string under a Redis key, straight from the server (bypassing RedisStorage). */
export async function rawGet(server: TestRedis, key: string): Promise<string | null> {
  const reply = await server.command("GET", key);
  if (reply.startsWith("$-1")) return null;
  return bulk(reply);
}

/** One raw field of a Redis hash, bypassing RedisStorage. */
export async function rawHget(server: TestRedis, key: string, field: string): Promise<string | null> {
  const reply = await server.command("HGET", key, field);
  if (reply.startsWith("$-1")) return null;
  return bulk(reply);
}

function bulk(reply: string): string {
  if (!reply.startsWith("$")) throw new Error(`not a bulk reply: ${reply}`);
  return reply.slice(reply.indexOf("\r\n") + 2, -2);
}
