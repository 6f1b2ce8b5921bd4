import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisStorage } from "../../src/storage/redis-storage.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { rawGet as rawGetFrom, rawHget as rawHgetFrom, redisStorages } from "../support/redis-storage.ts";
import { bundle } from "../support/storage.ts";

// What only RedisStorage promises: its key layout in Redis, namespaces,
// SCAN, the lock's expiry, and close. The contract both implementations
// share is test/storage/storage.test.ts; encryption, the connection and the
// subscription have files of their own.

let redis: TestRedis;
const storages = redisStorages(() => redis);
const open = storages.open;
/** The raw string under a Redis key, straight from the server (bypassing RedisStorage). */
const rawGet = (key: string, server: TestRedis = redis) => rawGetFrom(server, key);
const rawHget = (key: string, field: string) => rawHgetFrom(redis, key, field);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  redis = await startRedis();
}, 300_000);

afterAll(async () => {
  storages.closeAll();
  await redis?.stop();
});

describe("RedisStorage: keys and values", () => {
  test("a plain value that looks like ciphertext is stored marked, so it is never decrypted; others as they are", async () => {
    const storage = open();
    const values = ["", "ünïcödé ✓ 🔐", "line 1\r\nline 2\n", "x".repeat(1 << 20), "enc:v1:AAAA:BBBB", "raw:hello", "enc:", "raw:"];
    for (const [i, value] of values.entries()) await storage.store(`v/${i}`, value);
    expect(await rawGet(`${storage.namespace}:kv:v/4`)).toBe("raw:enc:v1:AAAA:BBBB");
    expect(await rawGet(`${storage.namespace}:kv:v/1`)).toBe("ünïcödé ✓ 🔐");
  });

  test("keys live under <namespace>:kv:", async () => {
    const storage = open();
    await storage.store("challenges/tok-1", "key-authorization");
    expect(await rawGet(`${storage.namespace}:kv:challenges/tok-1`)).toBe("key-authorization");
  });

  test("bad options are refused with a TypeError that never echoes the url or key", () => {
    expect(() => new RedisStorage({ url: "not a url with p4ssw0rd" })).toThrow(TypeError);
    expect(() => new RedisStorage({ url: "not a url with p4ssw0rd" })).not.toThrow(/p4ssw0rd/);
    expect(() => new RedisStorage({ url: "http://127.0.0.1:6379" })).toThrow(TypeError);
    for (const namespace of ["", "a:b", "a*", "a b", "x".repeat(101)]) {
      expect(() => new RedisStorage({ url: redis.url, namespace })).toThrow(TypeError);
    }
    for (const encryptionKey of ["", "c2hvcnQ=", "not base64 at all!!", Buffer.alloc(31).toString("base64"), Buffer.alloc(33).toString("base64")]) {
      expect(() => new RedisStorage({ url: redis.url, encryptionKey })).toThrow(TypeError);
    }
    expect(() => new RedisStorage({ url: redis.url, encryptionKey: "c2VjcmV0LWtleS10aGF0LWlzLXNob3J0" })).not.toThrow(/c2VjcmV0/);
    expect(() => new RedisStorage({ url: redis.url, timeoutMs: 0 })).toThrow(TypeError);
    expect(new RedisStorage({ url: redis.url }).namespace).toBe("mcp-server");
    // URL-safe base64 without padding is accepted too.
    expect(() => new RedisStorage({ url: redis.url, encryptionKey: Buffer.alloc(32, 0xfb).toString("base64url") })).not.toThrow();
  });
});

describe("RedisStorage: namespaces", () => {
  test("two namespaces on one Redis do not see each other's keys, bundles or locks", async () => {
    const a = open({ namespace: `ns-a-${process.pid}` });
    const b = open({ namespace: `ns-b-${process.pid}` });
    const a2 = open({ namespace: `ns-a-${process.pid}` });
    await a.store("acme/x", "from a");
    await b.store("acme/x", "from b");
    expect(await a.load("acme/x")).toBe("from a");
    expect(await b.load("acme/x")).toBe("from b");
    expect(await a2.load("acme/x")).toBe("from a");
    await b.store("acme/only-b", "b");
    expect(await a.load("acme/only-b")).toBeUndefined();
    expect((await a.list("acme/")).sort()).toEqual(["acme/x"]);
    expect((await b.list("acme/")).sort()).toEqual(["acme/only-b", "acme/x"]);

    await a.storeBundle("certs", bundle("a"));
    expect(await b.loadBundle("certs")).toBeUndefined();
    expect(await a2.loadBundle("certs")).toEqual({ "cert.pem": "cert a", "key.pem": "key a", "meta.json": '{"marker":"a"}' });

    const lockA = await a.tryLock("order", 10_000);
    expect(lockA).toBeDefined();
    const lockB = await b.tryLock("order", 10_000);
    expect(lockB).toBeDefined(); // another deployment's lock
    expect(await a2.tryLock("order", 10_000)).toBeUndefined(); // same deployment: taken
    await lockA!.release();
    await lockB!.release();

    await a.delete("acme/x");
    expect(await b.load("acme/x")).toBe("from b");
  });

  test("a namespace that is a prefix of another does not list the other's keys", async () => {
    const short = open({ namespace: `pre-${process.pid}` });
    const long = open({ namespace: `pre-${process.pid}-x` });
    await long.store("k", "long");
    await short.store("k2", "short");
    expect(await short.list("")).toEqual(["k2"]);
    expect(await long.list("")).toEqual(["k"]);
  });
});

describe("RedisStorage: list", () => {
  test("finds every key with the prefix through SCAN, over many pages, and never uses KEYS", async () => {
    const storage = open();
    const before = await redis.command("INFO", "commandstats");
    const keys: string[] = [];
    for (let i = 0; i < 2_500; i++) keys.push(`challenges/t${i}`);
    for (let i = 0; i < keys.length; i += 250) {
      await Promise.all(keys.slice(i, i + 250).map((key) => storage.store(key, "x")));
    }
    await storage.store("acme/dir/account.json", "{}");
    await storage.store("acme/dir/account.key", "k", { secret: true });
    await storage.storeBundle("certs", bundle(1));
    expect((await storage.tryLock("challenges", 5_000)) !== undefined).toBe(true);

    const listed = await storage.list("challenges/");
    expect(listed.length).toBe(keys.length);
    expect(new Set(listed)).toEqual(new Set(keys));
    expect((await storage.list("acme/")).sort()).toEqual(["acme/dir/account.json", "acme/dir/account.key"]);
    expect((await storage.list("acme/dir/account.j")).sort()).toEqual(["acme/dir/account.json"]);
    // A plain string prefix, not whole segments: t249 also matches t2490..t2499.
    expect((await storage.list("challenges/t249")).sort()).toEqual(["challenges/t249", ...Array.from({ length: 10 }, (_, i) => `challenges/t249${i}`)]);
    expect(await storage.list("challenges/t2499")).toEqual(["challenges/t2499"]);
    expect((await storage.list("")).length).toBe(keys.length + 2); // no bundles, no locks
    expect(await storage.list("nothing/")).toEqual([]);
    // Prefixes no key can start with: [] rather than an error, and no glob surprises.
    for (const prefix of ["*", "challenges/*", "chall?nges/", "[a-z]", "a:b", "é"]) expect(await storage.list(prefix)).toEqual([]);

    const after = await redis.command("INFO", "commandstats");
    const calls = (stats: string, command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    expect(calls(after, "scan") - calls(before, "scan")).toBeGreaterThan(2);
    expect(calls(after, "keys")).toBe(0);
  }, 60_000);
});

describe("RedisStorage: bundles", () => {
  test("a bundle is one hash under <ns>:bundle:; the scratch key of the script never outlives it", async () => {
    const storage = open();
    await storage.storeBundle("docs.example.com", { ...bundle(1), "chain.pem": { data: "chain 1" } });
    await storage.storeBundle("docs.example.com", bundle(2));
    expect(await rawHget(`${storage.namespace}:bundle:docs.example.com`, "cert.pem")).toBe("cert 2");
    expect(await rawHget(`${storage.namespace}:bundle:docs.example.com`, "chain.pem")).toBeNull();
    expect(await redis.command("EXISTS", `${storage.namespace}:bundle-scratch:docs.example.com`)).toBe(":0\r\n");
  });
});

describe("RedisStorage: locks", () => {
  test("a lock is a key holding a random token, with the lease as its Redis expiry (SET NX PX)", async () => {
    const one = open();
    const lock = await one.tryLock("order-docs", 10_000);
    const pttl = Number((await redis.command("PTTL", `${one.namespace}:lock:order-docs`)).slice(1));
    expect(pttl).toBeGreaterThan(8_000);
    expect(pttl).toBeLessThanOrEqual(10_000);
    await lock!.release();
    expect(await rawGet(`${one.namespace}:lock:order-docs`)).toBeNull();
  });

  test("renew after expiry without a successor is false too (the work must not be committed)", async () => {
    const storage = open();
    const lock = await storage.tryLock("lapsed", 100);
    await sleep(250);
    expect(await lock!.renew()).toBe(false);
    await lock!.release();
  });
});

describe("RedisStorage: close", () => {
  test("closed storages reject calls and stop subscriptions", async () => {
    const storage = new RedisStorage({ url: redis.url, namespace: `closed-${process.pid}` });
    await storage.store("k", "v");
    storage.close();
    await expect(storage.load("k")).rejects.toThrow(/closed/);
    expect(() => storage.subscribe(() => {})).toThrow(/closed/);
    storage.close(); // idempotent
  });
});
