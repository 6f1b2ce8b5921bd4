import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { OLD_BUNDLE_VERSIONS } from "../../src/storage/file-bundle.ts";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { hostname } from "node:os";
import { bundle, deadPid, storageRoots } from "../support/storage.ts";

// FileStorage's versioned bundles (src/storage/file-bundle.ts): the stable
// layout other programs read, pruning, and recovery after a crash at any
// point of a commit.

const roots = storageRoots();
afterAll(() => roots.removeAll());
const freshRoot = () => roots.fresh();
const mode = (path: string) => statSync(path).mode & 0o777;
const hostTag = hostname().replace(/[^A-Za-z0-9.-]/g, "_").slice(0, 64) || "unknown";

function versionsOf(root: string, name: string): string[] {
  return readdirSync(join(root, `${name}.d`)).filter((entry) => /^\d{15}-[0-9a-f]{8}$/.test(entry)).sort();
}

describe("FileStorage bundles", () => {
  test("keeps the stable layout: <name>.<file> symlinks into <name>.d/current", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    expect(await storage.loadBundle("docs.example.com")).toBeUndefined();
    await storage.storeBundle("docs.example.com", bundle(1));

    expect(await storage.loadBundle("docs.example.com")).toEqual({
      "cert.pem": "cert 1",
      "key.pem": "key 1",
      "meta.json": "{\"marker\":\"1\"}",
    });
    for (const file of ["cert.pem", "key.pem", "meta.json"]) {
      const stable = join(root, `docs.example.com.${file}`);
      expect(lstatSync(stable).isSymbolicLink()).toBe(true);
      expect(readlinkSync(stable)).toBe(`docs.example.com.d/current/${file}`);
    }
    expect(readFileSync(join(root, "docs.example.com.cert.pem"), "utf8")).toBe("cert 1");
    expect(readFileSync(join(root, "docs.example.com.key.pem"), "utf8")).toBe("key 1");
    expect(mode(join(root, "docs.example.com.key.pem"))).toBe(0o600);
    expect(mode(join(root, "docs.example.com.cert.pem"))).toBe(0o644);
    expect(mode(root)).toBe(0o700);
    expect(mode(join(root, "docs.example.com.d"))).toBe(0o700);

    const current = readlinkSync(join(root, "docs.example.com.d", "current"));
    expect(current).toMatch(/^\d{15}-[0-9a-f]{8}$/); // relative
    expect(mode(join(root, "docs.example.com.d", current))).toBe(0o700);
    expect(readdirSync(join(root, "docs.example.com.d")).sort()).toEqual([current, "current"].sort());

    await storage.storeBundle("docs.example.com", bundle(2));
    expect(readFileSync(join(root, "docs.example.com.cert.pem"), "utf8")).toBe("cert 2");
    expect((await storage.loadBundle("docs.example.com"))?.["key.pem"]).toBe("key 2");
  });

  test("replacing keeps at most two old versions", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    for (let i = 1; i <= 6; i++) {
      await storage.storeBundle("a.example", bundle(i));
      expect(versionsOf(root, "a.example")).toHaveLength(Math.min(i, OLD_BUNDLE_VERSIONS + 1));
    }
    const versions = versionsOf(root, "a.example");
    const certs = versions.map((v) => readFileSync(join(root, "a.example.d", v, "cert.pem"), "utf8"));
    expect(certs).toEqual(["cert 4", "cert 5", "cert 6"]);
    expect(readlinkSync(join(root, "a.example.d", "current"))).toBe(versions[2]!);
    expect((await storage.loadBundle("a.example"))?.["cert.pem"]).toBe("cert 6");
  });

  test("replaces a regular file of the older layout by the link, and drops links of removed files", async () => {
    const { root } = await freshRoot();
    mkdirSync(root, { mode: 0o700 });
    writeFileSync(join(root, "b.example.cert.pem"), "legacy cert");
    const storage = new FileStorage(root);
    await storage.storeBundle("b.example", { ...bundle(1), "chain.pem": { data: "chain" } });
    expect(lstatSync(join(root, "b.example.cert.pem")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, "b.example.cert.pem"), "utf8")).toBe("cert 1");
    expect(readFileSync(join(root, "b.example.chain.pem"), "utf8")).toBe("chain");

    await storage.storeBundle("b.example", bundle(2));
    expect(existsSync(join(root, "b.example.chain.pem"))).toBe(false);
    expect(() => lstatSync(join(root, "b.example.chain.pem"))).toThrow();
    expect(Object.keys((await storage.loadBundle("b.example"))!).sort()).toEqual(["cert.pem", "key.pem", "meta.json"]);
  });

  test("the directory can be moved: all links are relative", async () => {
    const { parent, root } = await freshRoot();
    await new FileStorage(root).storeBundle("c.example", bundle(1));
    const moved = join(parent, "moved");
    renameSync(root, moved);
    expect(readFileSync(join(moved, "c.example.key.pem"), "utf8")).toBe("key 1");
    expect((await new FileStorage(moved).loadBundle("c.example"))?.["cert.pem"]).toBe("cert 1");
  });

  test("loadBundle never mixes versions while another task keeps swapping", async () => {
    const { root } = await freshRoot();
    const writer = new FileStorage(root);
    await writer.storeBundle("race.example", bundle(0));
    let stop = false;
    let commits = 0;
    let loads = 0;
    const mismatches: string[] = [];
    const seen = new Set<string>();

    const writing = (async () => {
      while (!stop) {
        commits++;
        await writer.storeBundle("race.example", bundle(commits));
      }
    })();
    const reading = (reader: FileStorage) => (async () => {
      while (!stop) {
        const files = await reader.loadBundle("race.example");
        loads++;
        const cert = files?.["cert.pem"]?.replace("cert ", "");
        const key = files?.["key.pem"]?.replace("key ", "");
        const meta = files?.["meta.json"] ? (JSON.parse(files["meta.json"]) as { marker: string }).marker : undefined;
        if (cert === undefined || cert !== key || cert !== meta) mismatches.push(`${cert}/${key}/${meta}`);
        else seen.add(cert);
      }
    })();

    const readers = [reading(new FileStorage(root)), reading(new FileStorage(root))];
    await Bun.sleep(300);
    stop = true;
    await Promise.all([writing, ...readers]);

    expect(mismatches).toEqual([]);
    expect(commits).toBeGreaterThan(3);
    expect(loads).toBeGreaterThan(commits);
    expect(seen.size).toBeGreaterThan(2);
    expect(versionsOf(root, "race.example").length).toBeLessThanOrEqual(OLD_BUNDLE_VERSIONS + 1);
  });

  test("after a crash at any point the previous bundle loads, and the next store cleans up", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.storeBundle("d.example", bundle("old"));
    const dir = join(root, "d.example.d");
    const committed = readlinkSync(join(dir, "current"));
    const next = `${String(Number(committed.slice(0, 15)) + 1).padStart(15, "0")}-0badcafe`;

    // A writer died (pid gone) half way through its files.
    const dead = join(dir, `.partial-${next}-${await deadPid()}-${hostTag}`);
    mkdirSync(dead, { mode: 0o700 });
    writeFileSync(join(dead, "cert.pem"), "cert new");
    // Another host's writer: fresh, so maybe still working, and long abandoned.
    const foreignFresh = join(dir, `.partial-${next}-1-some-other-host`);
    const foreignOld = join(dir, `.partial-${next}-2-some-other-host`);
    mkdirSync(foreignFresh);
    mkdirSync(foreignOld);
    const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(foreignOld, hoursAgo, hoursAgo);
    // The crash came after the new link was made but before it was renamed over `current`.
    symlinkSync(next, join(dir, "current.tmp"));
    // A half-deleted old version from a crashed prune.
    mkdirSync(join(dir, `.trash-${committed}-12345678`));

    expect(await storage.loadBundle("d.example")).toEqual({
      "cert.pem": "cert old",
      "key.pem": "key old",
      "meta.json": "{\"marker\":\"old\"}",
    });
    expect(await new FileStorage(root).loadBundle("d.example")).toEqual(await storage.loadBundle("d.example"));

    await storage.storeBundle("d.example", bundle("new"));
    expect((await storage.loadBundle("d.example"))?.["key.pem"]).toBe("key new");
    expect(readFileSync(join(root, "d.example.key.pem"), "utf8")).toBe("key new");
    const left = readdirSync(dir);
    expect(left).not.toContain("current.tmp");
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(foreignOld)).toBe(false);
    expect(existsSync(foreignFresh)).toBe(true);
    expect(left.filter((entry) => entry.startsWith(".trash-"))).toEqual([]);
  });

  test("a complete version that never became current is ignored by loadBundle", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.storeBundle("e.example", bundle("old"));
    const dir = join(root, "e.example.d");
    const committed = readlinkSync(join(dir, "current"));
    const next = `${String(Number(committed.slice(0, 15)) + 1).padStart(15, "0")}-0badcafe`;
    mkdirSync(join(dir, next));
    writeFileSync(join(dir, next, "cert.pem"), "cert new");
    writeFileSync(join(dir, next, "key.pem"), "key new");
    expect((await storage.loadBundle("e.example"))?.["cert.pem"]).toBe("cert old");
    await storage.storeBundle("e.example", bundle("newer"));
    expect((await storage.loadBundle("e.example"))?.["cert.pem"]).toBe("cert newer");
  });

  test("a store that fails before the commit leaves the previous bundle current", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.storeBundle("f.example", bundle("old"));
    const dir = join(root, "f.example.d");
    const versionsBefore = versionsOf(root, "f.example");
    // Something we cannot remove where the commit link must go: the swap fails.
    mkdirSync(join(dir, "current.tmp", "blocker"), { recursive: true });
    const error = await storage.storeBundle("f.example", bundle("new")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TypeError);
    expect((await storage.loadBundle("f.example"))?.["cert.pem"]).toBe("cert old");
    expect(readFileSync(join(root, "f.example.cert.pem"), "utf8")).toBe("cert old");
    expect(versionsOf(root, "f.example")).toEqual(versionsBefore);
    expect(readdirSync(dir).filter((entry) => entry.startsWith(".partial-"))).toEqual([]);

    await rm(join(dir, "current.tmp"), { recursive: true });
    await storage.storeBundle("f.example", bundle("new"));
    expect((await storage.loadBundle("f.example"))?.["cert.pem"]).toBe("cert new");
  });

  test("loadBundle refuses a current link that names no version", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await storage.storeBundle("g.example", bundle(1));
    const current = join(root, "g.example.d", "current");
    await rm(current);
    symlinkSync("../../etc", current);
    await expect(storage.loadBundle("g.example")).rejects.toThrow(/not a version directory/);
  });

  test("concurrent stores of one bundle in one process are serialised", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    await Promise.all(Array.from({ length: 8 }, (_, i) => storage.storeBundle("h.example", bundle(i))));
    expect((await storage.loadBundle("h.example"))?.["cert.pem"]).toBe("cert 7");
    expect(versionsOf(root, "h.example")).toHaveLength(OLD_BUNDLE_VERSIONS + 1);
  });
});
