import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisDecryptionError, RedisStorage, RedisUnavailableError, type RedisStorageOptions } from "../../src/storage/redis-storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { rejection, until } from "../support/wait.ts";

const KEY_A = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const KEY_B = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");

let redis: TestRedis;
const opened: RedisStorage[] = [];
let namespaces = 0;

beforeAll(async () => {
  redis = await startRedis();
}, 300_000);

afterAll(async () => {
  for (const storage of opened) storage.close();
  await redis?.stop();
});

/** A storage on the shared test Redis, in a namespace of its own unless one is given. */
function open(options: Partial<RedisStorageOptions> = {}, server: TestRedis = redis): RedisStorage {
  const storage = new RedisStorage({
    url: server.url,
    namespace: `test-${process.pid}-${++namespaces}`,
    timeoutMs: 2_000,
    ...options,
  });
  opened.push(storage);
  return storage;
}

/** The raw string under a Redis key, straight from the server (bypassing RedisStorage). */
async function rawGet(key: string, server: TestRedis = redis): Promise<string | null> {
  const reply = await server.command("GET", key);
  if (reply.startsWith("$-1")) return null;
  return bulk(reply);
}

async function rawHget(key: string, field: string): Promise<string | null> {
  const reply = await redis.command("HGET", key, field);
  if (reply.startsWith("$-1")) return null;
  return bulk(reply);
}

function bulk(reply: string): string {
  if (!reply.startsWith("$")) throw new Error(`not a bulk reply: ${reply}`);
  return reply.slice(reply.indexOf("\r\n") + 2, -2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds; a bound far above any real delay turns a hang into a clear failure. */
const waitFor = (what: string, check: () => boolean) => until(what, check);

/** The error `promise` rejects with (it must reject, and not hang). */
const rejectionOf = (promise: Promise<unknown>) => rejection(promise, "the storage call");

function bundle(marker: number | string) {
  return {
    "cert.pem": { data: `cert ${marker}` },
    "key.pem": { data: `key ${marker}`, secret: true },
    "meta.json": { data: JSON.stringify({ marker: String(marker) }) },
  };
}

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

describe("RedisStorage: encryption", () => {
  test("secret values and secret bundle files are unreadable in Redis; others stay plain; both round-trip", async () => {
    const storage = open({ encryptionKey: KEY_A });
    const secret = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
    await storage.store("acme/dir/account.key", secret, { secret: true });
    await storage.store("acme/dir/account.json", '{"url":"https://ca/acct/1"}');
    await storage.storeBundle("docs", { "cert.pem": { data: "CERT PEM" }, "key.pem": { data: secret, secret: true } });

    const raw = (await rawGet(`${storage.namespace}:kv:acme/dir/account.key`))!;
    expect(raw).toMatch(/^enc:v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/=]+$/);
    expect(raw).not.toContain("PRIVATE KEY");
    expect(await rawGet(`${storage.namespace}:kv:acme/dir/account.json`)).toBe('{"url":"https://ca/acct/1"}');
    const rawKeyField = (await rawHget(`${storage.namespace}:bundle:docs`, "key.pem"))!;
    expect(rawKeyField.startsWith("enc:v1:")).toBe(true);
    expect(rawKeyField).not.toContain("PRIVATE KEY");
    expect(await rawHget(`${storage.namespace}:bundle:docs`, "cert.pem")).toBe("CERT PEM");

    expect(await storage.load("acme/dir/account.key")).toBe(secret);
    expect(await storage.loadBundle("docs")).toEqual({ "cert.pem": "CERT PEM", "key.pem": secret });
    // Another replica with the same key reads it.
    const replica = open({ namespace: storage.namespace, encryptionKey: KEY_A });
    expect(await replica.load("acme/dir/account.key")).toBe(secret);
    expect((await replica.loadBundle("docs"))?.["key.pem"]).toBe(secret);

    // A fresh IV each time: the same secret stored twice differs.
    await storage.store("acme/dir/account.key", secret, { secret: true });
    expect(await rawGet(`${storage.namespace}:kv:acme/dir/account.key`)).not.toBe(raw);
  });

  test("a wrong key, no key, an altered value or a value moved to another key fail clearly", async () => {
    const storage = open({ encryptionKey: KEY_A });
    await storage.store("acme/dir/account.key", "private", { secret: true });
    await storage.store("acme/other/account.key", "other private", { secret: true });
    await storage.storeBundle("docs", { "cert.pem": { data: "CERT" }, "key.pem": { data: "KEY", secret: true } });

    const wrong = open({ namespace: storage.namespace, encryptionKey: KEY_B });
    const load = await rejectionOf(wrong.load("acme/dir/account.key"));
    expect(load).toBeInstanceOf(RedisDecryptionError);
    expect(load.message).toMatch(/cannot decrypt key acme\/dir\/account\.key .*wrong encryptionKey/);
    expect(load.message).not.toContain(KEY_A);
    expect(load.message).not.toContain(KEY_B);
    const loadBundle = await rejectionOf(wrong.loadBundle("docs"));
    expect(loadBundle).toBeInstanceOf(RedisDecryptionError);
    expect(loadBundle.message).toMatch(/bundle docs file key\.pem/);

    const keyless = open({ namespace: storage.namespace });
    const noKey = await rejectionOf(keyless.load("acme/dir/account.key"));
    expect(noKey).toBeInstanceOf(RedisDecryptionError);
    expect(noKey.message).toMatch(/is encrypted, but this RedisStorage has no encryptionKey/);
    expect(await keyless.loadBundle("docs").catch((error: Error) => error.name)).toBe("RedisDecryptionError");

    // Ciphertext copied under another key does not decrypt (it is bound to its key).
    const moved = (await rawGet(`${storage.namespace}:kv:acme/other/account.key`))!;
    await redis.command("SET", `${storage.namespace}:kv:acme/dir/account.key`, moved);
    expect(await rejectionOf(storage.load("acme/dir/account.key"))).toBeInstanceOf(RedisDecryptionError);

    // One flipped character of the ciphertext.
    const original = (await rawGet(`${storage.namespace}:kv:acme/other/account.key`))!;
    const flipped = original.slice(0, -3) + (original.at(-3) === "A" ? "B" : "A") + original.slice(-2);
    await redis.command("SET", `${storage.namespace}:kv:acme/other/account.key`, flipped);
    expect(await rejectionOf(storage.load("acme/other/account.key"))).toBeInstanceOf(RedisDecryptionError);
    await redis.command("SET", `${storage.namespace}:kv:acme/other/account.key`, "enc:v1:garbage");
    expect((await rejectionOf(storage.load("acme/other/account.key"))).message).toMatch(/malformed encrypted value/);

    // Non-secret values stay readable without the key.
    expect(await keyless.list("acme/")).toHaveLength(2);
  });

  test("without an encryptionKey, secrets are stored as they are", async () => {
    const storage = open();
    await storage.store("acme/dir/account.key", "private", { secret: true });
    expect(await rawGet(`${storage.namespace}:kv:acme/dir/account.key`)).toBe("private");
  });
});

describe("RedisStorage: notifications", () => {
  test("a stored bundle reaches another instance's subscription at once; other namespaces hear nothing", async () => {
    const writer = open();
    const replica = open({ namespace: writer.namespace });
    const stranger = open();
    const heard: string[] = [];
    const strangerHeard: string[] = [];
    let ready = 0;
    const unsubscribe = replica.subscribe((name) => heard.push(name), { onReady: () => ready++ });
    const unsubscribeStranger = stranger.subscribe((name) => strangerHeard.push(name));
    await waitFor("subscription", () => ready === 1);
    await sleep(50); // the stranger's subscription too

    await writer.storeBundle("docs.example.com", bundle(1));
    await waitFor("notification", () => heard.length === 1);
    expect(heard).toEqual(["docs.example.com"]);
    // The notification comes after the data: loading on it gives the new bundle.
    expect((await replica.loadBundle("docs.example.com"))?.["cert.pem"]).toBe("cert 1");

    // A second listener on the same instance shares the connection; the writer hears itself too.
    const second: string[] = [];
    const own: string[] = [];
    const unsubscribeSecond = replica.subscribe((name) => second.push(name));
    let ownReady = false;
    const unsubscribeOwn = writer.subscribe((name) => own.push(name), { onReady: () => (ownReady = true) });
    await waitFor("writer's subscription", () => ownReady);
    await writer.storeBundle("api.example.com", bundle(2));
    await waitFor("second notification", () => heard.length === 2 && second.length === 1 && own.length === 1);
    expect(heard).toEqual(["docs.example.com", "api.example.com"]);
    expect(second).toEqual(["api.example.com"]);

    unsubscribe();
    unsubscribeSecond();
    unsubscribe(); // idempotent
    await writer.storeBundle("docs.example.com", bundle(3));
    await waitFor("writer's own notification", () => own.length === 2);
    await sleep(100);
    expect(heard).toHaveLength(2);
    expect(second).toHaveLength(1);
    expect(strangerHeard).toEqual([]);
    unsubscribeOwn();
    unsubscribeStranger();
    // Plain keys are not announced.
    expect(heard).toHaveLength(2);
  });

  test("a throwing listener does not stop the others and is reported to onError", async () => {
    const writer = open();
    const replica = open({ namespace: writer.namespace });
    const errors: unknown[] = [];
    const heard: string[] = [];
    let ready = 0;
    const stopBad = replica.subscribe(() => {
      throw new Error("listener bug");
    }, { onError: (error) => errors.push(error), onReady: () => ready++ });
    const stopGood = replica.subscribe((name) => heard.push(name), { onReady: () => ready++ });
    await waitFor("subscriptions", () => ready === 2);
    await writer.storeBundle("b", bundle(1));
    await waitFor("delivery", () => heard.length === 1 && errors.length === 1);
    expect((errors[0] as Error).message).toBe("listener bug");
    stopBad();
    stopGood();
  });
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

  test("a subscription comes back by itself after a restart or a hang, and then announces every bundle", async () => {
    const writer = open({ timeoutMs: 1_500 }, flaky);
    const replica = open({ namespace: writer.namespace, timeoutMs: 1_500, healthCheckMs: 500 }, flaky);
    await writer.storeBundle("docs", bundle(1));
    const heard: string[] = [];
    const errors: unknown[] = [];
    let ready = 0;
    const unsubscribe = replica.subscribe((name) => heard.push(name), { onReady: () => ready++, onError: (error) => errors.push(error) });
    await waitFor("subscription", () => ready === 1);

    await flaky.restart({ keepData: true });
    await waitFor("re-subscription", () => ready === 2);
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as Error).name).toBe("RedisUnavailableError");
    await waitFor("catch-up announcement", () => heard.includes("docs"));
    heard.length = 0;
    await writer.storeBundle("api", bundle(2));
    await waitFor("notification after restart", () => heard.includes("api"));

    // A hung server is noticed by the health check, and the subscription recovers after it.
    const errorsBefore = errors.length;
    flaky.pause();
    try {
      // healthCheckMs 500 + timeoutMs 1500: noticed within about 2 s.
      await waitFor("health check failure", () => errors.slice(errorsBefore).some((error) => /health check failed/.test((error as Error).message)));
    } finally {
      flaky.resume();
    }
    await waitFor("re-subscription after hang", () => ready >= 3);
    heard.length = 0;
    await writer.storeBundle("docs", bundle(3));
    await waitFor("notification after hang", () => heard.includes("docs"));
    unsubscribe();
  }, 60_000);
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
