import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { bundle, storageRoots } from "../support/storage.ts";

// What only FileStorage promises about keys: where they are on disk, with
// which modes, and what a filesystem cannot do. The contract both
// implementations share is test/storage/storage.test.ts.

const roots = storageRoots();
afterAll(() => roots.removeAll());
const freshRoot = () => roots.fresh();
const mode = (path: string) => statSync(path).mode & 0o777;

describe("FileStorage keys", () => {
  test("a key a/b/c is the file <root>/a/b/c; the description is the root", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    expect(storage.description).toBe(root);
    await storage.store("challenges/tok_en-1", "proof");
    expect(readFileSync(join(root, "challenges", "tok_en-1"), "utf8")).toBe("proof");
  });

  test("creates directories 0700, secret files 0600, other files 0644", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.store("acme/dir/account.key", "secret", { secret: true });
    await storage.store("acme/dir/account.json", "{}");
    expect(mode(root)).toBe(0o700);
    expect(mode(join(root, "acme"))).toBe(0o700);
    expect(mode(join(root, "acme", "dir"))).toBe(0o700);
    expect(mode(join(root, "acme", "dir", "account.key"))).toBe(0o600);
    expect(mode(join(root, "acme", "dir", "account.json"))).toBe(0o644);
    // Overwriting with secret: true makes the file owner-only, and back.
    await storage.store("acme/dir/account.json", "{}", { secret: true });
    expect(mode(join(root, "acme", "dir", "account.json"))).toBe(0o600);
    await storage.store("acme/dir/account.key", "public now");
    expect(mode(join(root, "acme", "dir", "account.key"))).toBe(0o644);
  });

  test("deleting the name of a directory leaves the directory alone", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.store("challenges/t", "x");
    await storage.delete("challenges/t");
    await storage.delete("challenges"); // a directory is no key
    expect(existsSync(join(root, "challenges"))).toBe(true);
  });

  test("I/O errors other than 'not there' propagate unchanged", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.store("a", "file");
    const error = await storage.store("a/b", "x").catch((e: NodeJS.ErrnoException) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(["EEXIST", "ENOTDIR"]).toContain(String((error as NodeJS.ErrnoException).code));
    expect(await storage.load("a")).toBe("file");
  });
});

describe("FileStorage list", () => {
  test("leaves out bundles, locks, symlinks and temporary files", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.store("acme/account.json", "{}");
    await storage.storeBundle("docs.example.com", bundle(1));
    const lock = await storage.tryLock("docs.example.com", 10_000);
    expect(lock).toBeDefined();
    writeFileSync(join(root, "acme", ".account.json.1234.abcdef12.tmp"), "half");
    symlinkSync("acme/account.json", join(root, "alias"));
    expect(await storage.list("")).toEqual(["acme/account.json"]);
    expect(await storage.list("docs")).toEqual([]);
    await lock!.release();
  });
});
