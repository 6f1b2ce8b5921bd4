import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { RedisUnavailableError } from "../../src/storage/redis-connection.ts";
import type { RedisStorage } from "../../src/storage/redis-storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { startRedis, type TestRedis } from "../support/redis.ts";
import { rawGet, redisStorages } from "../support/redis-storage.ts";
import { bundle, storageRoots } from "../support/storage.ts";

// The `Storage` contract (src/storage/storage.ts), one suite run against
// every implementation: what the certificate machinery may rely on whichever
// storage it is given. What only one implementation promises (the file
// layout and modes, Redis's key layout, encryption and notifications) is
// tested beside it, in file-*.test.ts and redis-*.test.ts.

let redis: TestRedis;
const roots = storageRoots();
const redisOpened = redisStorages(() => redis);

beforeAll(async () => {
  redis = await startRedis();
}, 300_000);
afterAll(async () => {
  redisOpened.closeAll();
  await redis?.stop();
  await roots.removeAll();
});

/** How the suite reaches one implementation. */
interface Subject {
  name: string;
  /** An empty storage of its own (for files: a root that does not exist yet). */
  open(): Promise<Storage>;
  /** Another instance on the same data, as another process or replica has it. */
  another(storage: Storage): Storage;
  /**
   * A storage where any I/O would show, and the check that none happened:
   * validation alone must answer.
   */
  untouchable(): Promise<{ storage: Storage; expectUntouched(): Promise<void> }>;
  /** Whether lock `name` is held according to the backing store itself, bypassing the implementation. */
  lockExists(storage: Storage, name: string): Promise<boolean>;
}

const subjects: Subject[] = [
  {
    name: "FileStorage",
    async open() {
      return new FileStorage((await roots.fresh()).root);
    },
    another: (storage) => new FileStorage(storage.description),
    async untouchable() {
      const { parent, root } = await roots.fresh();
      return {
        storage: new FileStorage(root),
        async expectUntouched() {
          expect(existsSync(join(parent, "x"))).toBe(false);
          expect(existsSync(root)).toBe(false);
        },
      };
    },
    lockExists: async (storage, name) => existsSync(join(storage.description, "locks", `${name}.lock`)),
  },
  {
    name: "RedisStorage",
    open: async () => redisOpened.open(),
    another: (storage) => redisOpened.open({ namespace: (storage as RedisStorage).namespace }),
    async untouchable() {
      const storage = redisOpened.open({ url: "redis://127.0.0.1:1" }); // nothing listens there: only validation can answer
      return {
        storage,
        async expectUntouched() {
          // Valid names are accepted by validation and then fail on the missing server.
          await expect(storage.load("a.b_c@d-e/f")).rejects.toBeInstanceOf(RedisUnavailableError);
        },
      };
    },
    lockExists: async (storage, name) => (await rawGet(redis, `${(storage as RedisStorage).namespace}:lock:${name}`)) !== null,
  },
];

for (const subject of subjects) {
  describe(`${subject.name}: keys and values`, () => {
    test("store, load, overwrite, delete; nested keys, secrets and text come back as stored", async () => {
      const storage = await subject.open();
      expect(await storage.load("acme/dir/account.json")).toBeUndefined();
      await storage.store("acme/dir/account.json", '{"url":"a"}');
      expect(await storage.load("acme/dir/account.json")).toBe('{"url":"a"}');
      await storage.store("acme/dir/account.json", '{"url":"b"}', { secret: true });
      expect(await storage.load("acme/dir/account.json")).toBe('{"url":"b"}');
      await storage.delete("acme/dir/account.json");
      expect(await storage.load("acme/dir/account.json")).toBeUndefined();
      await storage.delete("acme/dir/account.json"); // idempotent
      await storage.delete("never/there");

      await storage.store("challenges/tok_en-1", "proof");
      await storage.store("acme/acme-v02.api.letsencrypt.org-directory/user@example.com.json", "{\"k\":1}", { secret: true });
      await storage.store("plain", "héllo ✓\n");
      expect(await storage.load("challenges/tok_en-1")).toBe("proof");
      expect(await storage.load("acme/acme-v02.api.letsencrypt.org-directory/user@example.com.json")).toBe("{\"k\":1}");
      expect(await storage.load("plain")).toBe("héllo ✓\n");
      await storage.store("plain", "");
      expect(await storage.load("plain")).toBe("");
    });

    test("values come back exactly: empty, unicode, newlines, large, and ones that look like markers", async () => {
      const storage = await subject.open();
      const values = ["", "ünïcödé ✓ 🔐", "line 1\r\nline 2\n", "x".repeat(1 << 20), "enc:v1:AAAA:BBBB", "raw:hello", "enc:", "raw:"];
      for (const [i, value] of values.entries()) {
        await storage.store(`v/${i}`, value);
        expect(await storage.load(`v/${i}`)).toBe(value);
      }
    });

    test("load resolves undefined for missing keys, including under a key and at a key's parent", async () => {
      const storage = await subject.open();
      expect(await storage.load("missing")).toBeUndefined(); // nothing stored yet (no root directory)
      await storage.store("a/b", "x");
      expect(await storage.load("a/c")).toBeUndefined();
      expect(await storage.load("a/b/c")).toBeUndefined(); // under a key (ENOTDIR on a filesystem)
      expect(await storage.load("a")).toBeUndefined(); // a parent of keys is no value
    });

    test("delete is idempotent", async () => {
      const storage = await subject.open();
      await storage.delete("never/existed"); // nothing stored yet
      await storage.store("challenges/t", "x");
      await storage.delete("challenges/t");
      expect(await storage.load("challenges/t")).toBeUndefined();
      await storage.delete("challenges/t");
      await storage.delete("challenges/t/under-a-missing-file");
      await storage.delete("challenges"); // a parent of keys is no key
    });

    test("invalid keys, names, values and ttls are refused with a TypeError (a RangeError for ttls), before any I/O", async () => {
      const { storage, expectUntouched } = await subject.untouchable();
      const bad = [
        "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".", "..", "a b", "a:b", "a*", "é", "a\\b", "a\nb",
        "x".repeat(513), "y".repeat(201), `a/${"z".repeat(201)}`, `${"y".repeat(201)}/z`,
        // Reserved: the filesystem layout's own names (locks, bundle directories, temporary files).
        "locks/x.lock", "foo.d/cert.pem", "x.d", "dir/.name.123.abcdef12.tmp",
      ];
      for (const key of bad) {
        await expect(storage.load(key)).rejects.toBeInstanceOf(TypeError);
        await expect(storage.store(key, "v")).rejects.toBeInstanceOf(TypeError);
        await expect(storage.delete(key)).rejects.toBeInstanceOf(TypeError);
        await expect(storage.loadBundle(key)).rejects.toBeInstanceOf(TypeError);
        await expect(storage.storeBundle(key, bundle(1))).rejects.toBeInstanceOf(TypeError);
        await expect(storage.tryLock(key, 1_000)).rejects.toBeInstanceOf(TypeError);
      }
      // Bundle and lock names, and bundle file names, are single segments.
      for (const name of ["a/b", "certs/x", "../x", "", "a b", ".."]) {
        await expect(storage.loadBundle(name)).rejects.toBeInstanceOf(TypeError);
        await expect(storage.storeBundle(name, bundle(1))).rejects.toBeInstanceOf(TypeError);
        await expect(storage.tryLock(name, 1_000)).rejects.toBeInstanceOf(TypeError);
        await expect(storage.storeBundle("ok", { [name]: { data: "x" } })).rejects.toBeInstanceOf(TypeError);
      }
      await expect(storage.load(42 as unknown as string)).rejects.toBeInstanceOf(TypeError);
      await expect(storage.store(42 as unknown as string, "v")).rejects.toBeInstanceOf(TypeError);
      await expect(storage.store("ok", 42 as unknown as string)).rejects.toBeInstanceOf(TypeError);
      await expect(storage.storeBundle("ok", {})).rejects.toBeInstanceOf(TypeError);
      await expect(storage.storeBundle("ok", { "a.pem": { data: 1 as unknown as string } })).rejects.toBeInstanceOf(TypeError);
      await expect(storage.storeBundle("x", { "../key.pem": { data: "" } })).rejects.toBeInstanceOf(TypeError);
      // A file name whose stable path `<name>.<file>` would be a bundle directory, or too long a file name.
      await expect(storage.storeBundle("x", { d: { data: "" } })).rejects.toBeInstanceOf(TypeError);
      await expect(storage.storeBundle("x", { "a.d": { data: "" } })).rejects.toBeInstanceOf(TypeError);
      await expect(storage.storeBundle("x".repeat(195), { "cert.pem": { data: "" } })).rejects.toBeInstanceOf(TypeError);
      for (const ttl of [0, -1, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(storage.tryLock("ok", ttl)).rejects.toBeInstanceOf(RangeError);
      }
      await expectUntouched();
    });

    test("the longest allowed key works", async () => {
      const storage = await subject.open();
      const longest = `${"a".repeat(200)}/${"b".repeat(200)}/${"c".repeat(110)}`;
      expect(longest).toHaveLength(512);
      await storage.store(longest, "ok");
      expect(await storage.load(longest)).toBe("ok");
    });
  });

  describe(`${subject.name}: list`, () => {
    test("lists keys by string prefix", async () => {
      const storage = await subject.open();
      const keys = ["acme/dir1/account.json", "acme/dir1/account.key", "acme/dir2/account.json", "challenges/abc", "challenges/abd", "top"];
      for (const key of keys) await storage.store(key, key);
      expect((await storage.list("")).sort()).toEqual(keys);
      expect((await storage.list("acme/")).sort()).toEqual(keys.slice(0, 3));
      expect((await storage.list("acme/dir1/")).sort()).toEqual(keys.slice(0, 2));
      expect((await storage.list("acme/dir")).sort()).toEqual(keys.slice(0, 3));
      expect((await storage.list("acme/dir1/account.j")).sort()).toEqual(["acme/dir1/account.json"]);
      expect((await storage.list("challenges/ab")).sort()).toEqual(["challenges/abc", "challenges/abd"]);
      expect((await storage.list("challenges/abc")).sort()).toEqual(["challenges/abc"]);
      expect((await storage.list("t")).sort()).toEqual(["top"]);
      expect(await storage.list("missing/")).toEqual([]);
      // Prefixes no key can start with: [] rather than an error, and no glob surprises.
      for (const prefix of ["../", "a//", "/acme", "locks/", "*", "challenges/*", "chall?nges/", "[a-z]", "a:b", "é"]) {
        expect(await storage.list(prefix)).toEqual([]);
      }
      await expect(storage.list(42 as unknown as string)).rejects.toBeInstanceOf(TypeError);
      expect(await (await subject.open()).list("")).toEqual([]);
    });

    test("bundles and locks are not keys", async () => {
      const storage = await subject.open();
      await storage.store("acme/account.json", "{}");
      await storage.storeBundle("docs.example.com", bundle(1));
      const lock = await storage.tryLock("docs.example.com", 10_000);
      expect(lock).toBeDefined();
      expect(await storage.list("")).toEqual(["acme/account.json"]);
      expect(await storage.list("docs")).toEqual([]);
      await lock!.release();
    });
  });

  describe(`${subject.name}: bundles`, () => {
    test("store and load; a new bundle replaces the old one whole; file names stay data", async () => {
      const storage = await subject.open();
      expect(await storage.loadBundle("docs.example.com")).toBeUndefined();
      await storage.storeBundle("docs.example.com", { ...bundle(1), "chain.pem": { data: "chain 1" } });
      expect(await storage.loadBundle("docs.example.com")).toEqual({
        "cert.pem": "cert 1",
        "key.pem": "key 1",
        "meta.json": '{"marker":"1"}',
        "chain.pem": "chain 1",
      });
      await storage.storeBundle("docs.example.com", bundle(2));
      // chain.pem is gone: the bundle was replaced, not merged.
      expect(await storage.loadBundle("docs.example.com")).toEqual({ "cert.pem": "cert 2", "key.pem": "key 2", "meta.json": '{"marker":"2"}' });
      expect(await subject.another(storage).loadBundle("docs.example.com")).toEqual(await storage.loadBundle("docs.example.com"));
      // A file named like an Object.prototype property stays data.
      await storage.storeBundle("odd", Object.fromEntries([["__proto__", { data: "p" }], ["constructor", { data: "c" }]]));
      const odd = await storage.loadBundle("odd");
      expect(Object.keys(odd!).sort()).toEqual(["__proto__", "constructor"].sort());
      expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(odd, "__proto__")?.value).toBe("p");
    });

    test("readers never see a mix of two versions while another instance keeps replacing the bundle", async () => {
      const writer = await subject.open();
      const reader = subject.another(writer);
      const otherReader = subject.another(writer);
      await writer.storeBundle("live", bundle(0));
      let stop = false;
      let writes = 0;
      const write = (async () => {
        for (let i = 1; !stop; i++) {
          // Alternate between 3 and 4 files, so a merged bundle would show.
          const files = i % 2 === 0 ? { ...bundle(i), "extra.pem": { data: `extra ${i}` } } : bundle(i);
          await writer.storeBundle("live", files);
          writes = i;
        }
      })();
      let reads = 0;
      const readLoop = async (storage: Storage) => {
        const deadline = Date.now() + 2_500;
        while (Date.now() < deadline) {
          const files = await storage.loadBundle("live");
          expect(files).toBeDefined();
          const marker = JSON.parse(files!["meta.json"]!).marker as string;
          expect(files!["cert.pem"]).toBe(`cert ${marker}`);
          expect(files!["key.pem"]).toBe(`key ${marker}`);
          if (Number(marker) % 2 === 0 && marker !== "0") expect(files!["extra.pem"]).toBe(`extra ${marker}`);
          else expect(files!["extra.pem"]).toBeUndefined();
          reads++;
        }
      };
      try {
        await Promise.all([readLoop(reader), readLoop(otherReader), readLoop(reader)]);
      } finally {
        stop = true;
        await write;
      }
      expect(writes).toBeGreaterThan(50);
      expect(reads).toBeGreaterThan(50);
    }, 30_000);
  });

  describe(`${subject.name}: locks`, () => {
    test("exclusive: a second tryLock resolves undefined until the first is released, here or in another instance", async () => {
      const one = await subject.open();
      const two = subject.another(one);
      const lock = await one.tryLock("order-docs", 10_000);
      expect(lock?.name).toBe("order-docs");
      expect(await two.tryLock("order-docs", 10_000)).toBeUndefined();
      expect(await one.tryLock("order-docs", 10_000)).toBeUndefined(); // not reentrant either
      expect(await two.tryLock("other-lock", 10_000)).toBeDefined();
      expect(await subject.lockExists(one, "order-docs")).toBe(true);

      await lock!.release();
      expect(await subject.lockExists(one, "order-docs")).toBe(false);
      await lock!.release(); // idempotent
      expect(await lock!.renew()).toBe(false); // released
      const again = await two.tryLock("order-docs", 10_000);
      expect(again).toBeDefined();
      await again!.release();
    });

    test("only one of many concurrent takers wins", async () => {
      const first = await subject.open();
      const separate = await Promise.all(Array.from({ length: 12 }, () => subject.another(first).tryLock("race", 10_000)));
      expect(separate.filter(Boolean)).toHaveLength(1);
      const all = [first, ...Array.from({ length: 4 }, () => subject.another(first))];
      const doubled = await Promise.all(all.flatMap((storage) => [storage.tryLock("race-2", 10_000), storage.tryLock("race-2", 10_000)]));
      expect(doubled.filter((lock) => lock !== undefined).length).toBe(1);
    });

    test("renew extends the lease while the lock is ours", async () => {
      const storage = await subject.open();
      const lock = await storage.tryLock("renewed", 400);
      await Bun.sleep(250);
      expect(await lock!.renew()).toBe(true);
      await Bun.sleep(250); // past the first lease: held only thanks to renew
      expect(await subject.another(storage).tryLock("renewed", 400)).toBeUndefined();
      expect(await lock!.renew()).toBe(true);
      await lock!.release();
    });

    test("an expired lease is taken over; the old holder can neither renew it nor release the new holder's lock", async () => {
      const crashed = await subject.open();
      const successor = subject.another(crashed);
      const old = await crashed.tryLock("order", 150);
      expect(old).toBeDefined();
      expect(await successor.tryLock("order", 10_000)).toBeUndefined();
      await Bun.sleep(300); // the holder "crashed": nobody renewed
      const taken = await successor.tryLock("order", 10_000);
      expect(taken).toBeDefined();

      expect(await old!.renew()).toBe(false);
      await old!.release(); // must not delete the successor's lock
      expect(await subject.lockExists(crashed, "order")).toBe(true);
      expect(await crashed.tryLock("order", 10_000)).toBeUndefined();
      expect(await taken!.renew()).toBe(true);

      await taken!.release();
      expect(await subject.lockExists(crashed, "order")).toBe(false);
    });
  });
}
