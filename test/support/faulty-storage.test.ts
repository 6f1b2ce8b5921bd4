import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FaultyStorage } from "./faulty-storage.ts";
import { FileStorage } from "../../src/storage/file-storage.ts";

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function storages(): Promise<{ inner: FileStorage; faulty: FaultyStorage }> {
  const dir = await mkdtemp(join(tmpdir(), "faulty-storage-"));
  temps.push(dir);
  const inner = new FileStorage(join(dir, "certs"));
  return { inner, faulty: new FaultyStorage(inner) };
}

const files = (marker: string) => ({ "cert.pem": { data: `cert ${marker}` }, "key.pem": { data: `key ${marker}`, secret: true } });

describe("FaultyStorage", () => {
  test("passes everything through while healthy", async () => {
    const { inner, faulty } = await storages();
    expect(faulty.description).toContain(inner.description);
    await faulty.store("a/b", "1");
    expect(await faulty.load("a/b")).toBe("1");
    expect(await faulty.list("a/")).toEqual(["a/b"]);
    await faulty.delete("a/b");
    expect(await inner.load("a/b")).toBeUndefined();
    await faulty.storeBundle("x.example", files("1"));
    expect(await faulty.loadBundle("x.example")).toEqual({ "cert.pem": "cert 1", "key.pem": "key 1" });
    // Validation is the inner storage's.
    await expect(faulty.store("../x", "1")).rejects.toThrow(TypeError);
  });

  test("failWrites makes store, storeBundle and delete reject with ENOSPC, leaving the inner storage as it was", async () => {
    const { inner, faulty } = await storages();
    await faulty.store("k", "old");
    await faulty.storeBundle("x.example", files("old"));
    faulty.failWrites();

    const error = (await faulty.store("k", "new").catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe("ENOSPC");
    expect(error.message).toContain("no space left on device");
    await expect(faulty.storeBundle("x.example", files("new"))).rejects.toMatchObject({ code: "ENOSPC" });
    await expect(faulty.delete("k")).rejects.toMatchObject({ code: "ENOSPC" });
    await expect(faulty.store("other", "v")).rejects.toMatchObject({ code: "ENOSPC" });

    expect(await inner.load("k")).toBe("old");
    expect(await inner.load("other")).toBeUndefined();
    expect((await inner.loadBundle("x.example"))?.["cert.pem"]).toBe("cert old");
    // Reads still work.
    expect(await faulty.load("k")).toBe("old");
    expect((await faulty.loadBundle("x.example"))?.["key.pem"]).toBe("key old");
    expect(await faulty.list("")).toEqual(["k"]);

    faulty.heal();
    await faulty.store("k", "new");
    expect(await inner.load("k")).toBe("new");
  });

  test("failReads makes load, loadBundle and list reject; writes still work", async () => {
    const { inner, faulty } = await storages();
    await faulty.store("k", "v");
    faulty.failReads();
    await expect(faulty.load("k")).rejects.toMatchObject({ code: "EIO" });
    await expect(faulty.loadBundle("x.example")).rejects.toMatchObject({ code: "EIO" });
    await expect(faulty.list("")).rejects.toMatchObject({ code: "EIO" });
    await faulty.store("k", "w");
    expect(await inner.load("k")).toBe("w");
    faulty.heal();
    expect(await faulty.load("k")).toBe("w");
  });

  test("rejects with the very error given", async () => {
    const { faulty } = await storages();
    const readOnly = Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" });
    const broken = new Error("disk on fire");
    faulty.failWrites(readOnly);
    faulty.failReads(broken);
    await expect(faulty.store("k", "v")).rejects.toBe(readOnly);
    await expect(faulty.load("k")).rejects.toBe(broken);
    faulty.heal();
    await faulty.store("k", "v");
    expect(await faulty.load("k")).toBe("v");
  });

  test("locks pass through, even while failing", async () => {
    const { inner, faulty } = await storages();
    faulty.failWrites();
    faulty.failReads();
    const lock = await faulty.tryLock("issue", 10_000);
    expect(lock).toBeDefined();
    expect(await inner.tryLock("issue", 10_000)).toBeUndefined();
    expect(await lock!.renew()).toBe(true);
    await lock!.release();
    expect(await inner.tryLock("issue", 10_000)).toBeDefined();
  });
});
