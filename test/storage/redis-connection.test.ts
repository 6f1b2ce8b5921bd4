import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisUnavailableError } from "../../src/storage/redis-connection.ts";
import type { RedisStorage } from "../../src/storage/redis-storage.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { redisStorages } from "../support/redis-storage.ts";
import { bundle } from "../support/storage.ts";
import { rejection } from "../support/wait.ts";

// The command connection (src/storage/redis-connection.ts): passwords that
// never leak, the database in the URL, and calls that fail fast and recover
// when Redis is stopped or hung.

let redis: TestRedis;
const storages = redisStorages(() => redis);
const open = storages.open;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The error `promise` rejects with (it must reject, and not hang). */
const rejectionOf = (promise: Promise<unknown>) => rejection(promise, "the storage call");

beforeAll(async () => {
  redis = await startRedis();
}, 300_000);

afterAll(async () => {
  storages.closeAll();
  await redis?.stop();
});

describe("RedisStorage: with a password", () => {
  let secured: TestRedis;
  beforeAll(async () => {
    secured = await startRedis({ password: "pa:ss@w/rd-Zq9" });
  }, 60_000);
  afterAll(async () => {
    await secured?.stop();
  });

  test("works, and the password appears in neither the description nor errors", async () => {
    const storage = open({}, secured);
    expect(secured.url).toContain(encodeURIComponent("pa:ss@w/rd-Zq9"));
    expect(storage.description).toBe(`redis://127.0.0.1:${secured.port} (namespace ${storage.namespace})`);
    await storage.store("k", "v");
    expect(await storage.load("k")).toBe("v");

    const wrong = open({ url: `redis://:wrong-Zq9@127.0.0.1:${secured.port}/2`, timeoutMs: 1_000 });
    expect(wrong.description).toBe(`redis://127.0.0.1:${secured.port}/2 (namespace ${wrong.namespace})`);
    const error = await rejectionOf(wrong.load("k"));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(/cannot connect/);
    expect(error.message).not.toContain("wrong-Zq9");
    const none = open({ url: `redis://127.0.0.1:${secured.port}`, timeoutMs: 1_000 });
    expect(await rejectionOf(none.load("k"))).toBeInstanceOf(RedisUnavailableError);
  });

  test("the database number in the URL is used", async () => {
    const password = encodeURIComponent("pa:ss@w/rd-Zq9");
    const db3 = open({ url: `redis://:${password}@127.0.0.1:${secured.port}/3`, namespace: "same" }, secured);
    const db0 = open({ url: `redis://:${password}@127.0.0.1:${secured.port}/0`, namespace: "same" }, secured);
    await db3.store("where", "db3");
    expect(await db0.load("where")).toBeUndefined();
    expect(await db3.load("where")).toBe("db3");
  });
});

describe("RedisStorage: Redis down", () => {
  let flaky: TestRedis;
  beforeAll(async () => {
    flaky = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await flaky?.stop();
  });

  /** Every kind of call, each expected to reject with RedisUnavailableError (not hang). */
  async function expectAllUnavailable(storage: RedisStorage): Promise<void> {
    const calls: [string, () => Promise<unknown>][] = [
      ["load", () => storage.load("k")],
      ["store", () => storage.store("k", "v")],
      ["delete", () => storage.delete("k")],
      ["list", () => storage.list("")],
      ["loadBundle", () => storage.loadBundle("b")],
      ["storeBundle", () => storage.storeBundle("b", bundle("down"))],
      ["tryLock", () => storage.tryLock("l", 10_000)],
    ];
    const results = await Promise.all(calls.map(([, call]) => rejectionOf(call())));
    for (const [i, error] of results.entries()) {
      expect(`${calls[i]![0]}: ${error.name}`).toBe(`${calls[i]![0]}: RedisUnavailableError`);
      expect(error.message).toContain(`redis storage redis://127.0.0.1:${flaky.port}`);
      expect(error.message).toContain("unavailable");
    }
  }

  test("stopped: calls fail fast with a clear error, and work again on the same object once it is back", async () => {
    const storage = open({ timeoutMs: 1_500 }, flaky);
    await storage.store("k", "before");
    const lock = await storage.tryLock("held", 60_000);
    await flaky.restart({ keepData: true }); // a blip: the connection breaks, data survives
    expect(await storage.load("k")).toBe("before");
    expect(await lock!.renew()).toBe(true);

    flaky.kill();
    await sleep(100);
    await expectAllUnavailable(storage);
    const renew = await rejectionOf(lock!.renew());
    expect(renew).toBeInstanceOf(RedisUnavailableError);
    await expectAllUnavailable(storage); // again: no hang after the first failures

    await flaky.restart(); // back, empty (no persistence)
    expect(await storage.load("k")).toBeUndefined();
    await storage.store("k", "after");
    expect(await storage.load("k")).toBe("after");
    expect(await lock!.renew()).toBe(false); // its key went with the old data
    const relocked = await storage.tryLock("held", 10_000);
    expect(relocked).toBeDefined();
    await relocked!.release();
  }, 60_000);

  test("hung (SIGSTOP): calls fail within the timeout instead of hanging, and work again after SIGCONT", async () => {
    const storage = open({ timeoutMs: 1_500 }, flaky);
    await storage.store("k", "v");
    flaky.pause();
    try {
      await expectAllUnavailable(storage);
      const first = await rejectionOf(storage.load("k"));
      expect(first.message).toMatch(/no answer|cannot connect/);
      // Later calls also give up by their own timeout (each tries a new
      // connection, which the hung server never greets), rather than hang.
      expect((await rejectionOf(storage.load("k"))).message).toMatch(/no answer|cannot connect/);
    } finally {
      flaky.resume();
    }
    expect(await storage.load("k")).toBe("v");
    await storage.store("k", "v2");
    expect(await storage.load("k")).toBe("v2");
  }, 60_000);
});
