import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisDecryptionError } from "../../src/storage/redis-cipher.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { rawGet as rawGetFrom, rawHget as rawHgetFrom, redisStorages } from "../support/redis-storage.ts";
import { rejection } from "../support/wait.ts";

// Secrets in Redis (src/storage/redis-cipher.ts): encrypted and bound to
// their place when a key is set, failing clearly without it.

let redis: TestRedis;
const storages = redisStorages(() => redis);
const open = storages.open;
const KEY_A = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const KEY_B = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
/** The raw string under a Redis key, straight from the server (bypassing RedisStorage). */
const rawGet = (key: string, server: TestRedis = redis) => rawGetFrom(server, key);
const rawHget = (key: string, field: string) => rawHgetFrom(redis, key, field);
/** The error `promise` rejects with (it must reject, and not hang). */
const rejectionOf = (promise: Promise<unknown>) => rejection(promise, "the storage call");

beforeAll(async () => {
  redis = await startRedis();
}, 300_000);

afterAll(async () => {
  storages.closeAll();
  await redis?.stop();
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
