import { afterAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { FileStorage, OLD_BUNDLE_VERSIONS } from "../../src/storage/file-storage.ts";

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh, not yet existing storage root inside a temp dir (so its creation mode can be checked). */
async function freshRoot(): Promise<{ parent: string; root: string }> {
  const parent = await mkdtemp(join(tmpdir(), "file-storage-"));
  temps.push(parent);
  return { parent, root: join(parent, "certs") };
}

const mode = (path: string) => statSync(path).mode & 0o777;

const bootId = (() => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined;
  }
})();
const hostTag = hostname().replace(/[^A-Za-z0-9.-]/g, "_").slice(0, 64) || "unknown";

/** A pid that surely belongs to no process: one that just exited. */
async function deadPid(): Promise<number> {
  const child = Bun.spawn(["true"]);
  await child.exited;
  return child.pid;
}

function bundle(marker: number | string) {
  return {
    "cert.pem": { data: `cert ${marker}` },
    "key.pem": { data: `key ${marker}`, secret: true },
    "meta.json": { data: JSON.stringify({ marker: String(marker) }) },
  };
}

function versionsOf(root: string, name: string): string[] {
  return readdirSync(join(root, `${name}.d`)).filter((entry) => /^\d{15}-[0-9a-f]{8}$/.test(entry)).sort();
}

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

describe("FileStorage locks", () => {
  const lockPath = (root: string, name: string) => join(root, "locks", `${name}.lock`);

  function writeLock(root: string, name: string, record: Record<string, unknown> | string) {
    mkdirSync(join(root, "locks"), { recursive: true, mode: 0o700 });
    writeFileSync(lockPath(root, name), typeof record === "string" ? record : JSON.stringify(record), { mode: 0o600 });
  }

  test("a lock file records its holder and lease, owner-only, and goes with release", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    const lock = await storage.tryLock("issue-docs.example.com", 10_000);
    expect(lock?.name).toBe("issue-docs.example.com");

    const record = JSON.parse(readFileSync(lockPath(root, "issue-docs.example.com"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(record).sort()).toEqual(["bootId", "expiresAt", "hostname", "pid", "token"]);
    expect(record.pid).toBe(process.pid);
    expect(record.hostname).toBe(hostname());
    expect(record.bootId).toBe(bootId ?? null);
    expect(record.expiresAt as number).toBeGreaterThan(Date.now());
    expect(mode(lockPath(root, "issue-docs.example.com"))).toBe(0o600);
    expect(mode(join(root, "locks"))).toBe(0o700);

    await lock!.release();
    expect(existsSync(lockPath(root, "issue-docs.example.com"))).toBe(false);
  });

  test("only one of many concurrent breakers of a stale lock wins", async () => {
    const { root } = await freshRoot();
    writeLock(root, "stale", { token: "gone", pid: 1, bootId: null, hostname: "elsewhere", expiresAt: Date.now() - 1000 });
    const locks = await Promise.all(Array.from({ length: 12 }, () => new FileStorage(root).tryLock("stale", 10_000)));
    expect(locks.filter(Boolean)).toHaveLength(1);
    expect(readdirSync(join(root, "locks"))).toEqual(["stale.lock"]);
  });

  test.skipIf(bootId === undefined)("a lock of a dead process on this host is broken at once", async () => {
    const { root } = await freshRoot();
    const pid = await deadPid();
    writeLock(root, "dead", { token: "theirs", pid, bootId, hostname: hostname(), expiresAt: Date.now() + 60_000 });
    const lock = await new FileStorage(root).tryLock("dead", 10_000);
    expect(lock).toBeDefined();
    expect(JSON.parse(readFileSync(lockPath(root, "dead"), "utf8")).pid).toBe(process.pid);
    await lock!.release();
  });

  test("an unexpired lock whose holder cannot be judged dead is respected", async () => {
    const { root } = await freshRoot();
    const pid = await deadPid();
    const future = Date.now() + 60_000;
    const storage = new FileStorage(root);
    // Alive (ourselves, another token: say another FileStorage of this process).
    writeLock(root, "alive", { token: "t", pid: process.pid, bootId: bootId ?? null, hostname: hostname(), expiresAt: future });
    expect(await storage.tryLock("alive", 10_000)).toBeUndefined();
    // Dead pid, but on another host, or in another boot: the pid means nothing here.
    writeLock(root, "remote", { token: "t", pid, bootId: bootId ?? null, hostname: "another-host", expiresAt: future });
    expect(await storage.tryLock("remote", 10_000)).toBeUndefined();
    writeLock(root, "reboot", { token: "t", pid, bootId: "00000000-0000-0000-0000-000000000000", hostname: hostname(), expiresAt: future });
    expect(await storage.tryLock("reboot", 10_000)).toBeUndefined();
    // A pid we must never signal.
    writeLock(root, "group", { token: "t", pid: 0, bootId: bootId ?? null, hostname: hostname(), expiresAt: future });
    expect(await storage.tryLock("group", 10_000)).toBeUndefined();
  });

  test("a corrupt or empty lock file is stale only once older than the ttl", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    writeLock(root, "empty", "");
    writeLock(root, "corrupt", "{\"token\":");
    expect(await storage.tryLock("empty", 10_000)).toBeUndefined();
    expect(await storage.tryLock("corrupt", 10_000)).toBeUndefined();
    const past = new Date(Date.now() - 20_000);
    utimesSync(lockPath(root, "empty"), past, past);
    utimesSync(lockPath(root, "corrupt"), past, past);
    expect(await storage.tryLock("empty", 10_000)).toBeDefined();
    expect(await storage.tryLock("corrupt", 10_000)).toBeDefined();
  });

  test("renew extends the lease", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    const lock = await storage.tryLock("renewed", 300);
    const expiresAt = () => (JSON.parse(readFileSync(lockPath(root, "renewed"), "utf8")) as { expiresAt: number }).expiresAt;
    const before = expiresAt();
    await Bun.sleep(150);
    expect(await lock!.renew()).toBe(true);
    expect(expiresAt()).toBeGreaterThanOrEqual(before + 100);
    expect(mode(lockPath(root, "renewed"))).toBe(0o600);
    await Bun.sleep(200); // past the first lease, within the renewed one
    expect(await storage.tryLock("renewed", 10_000)).toBeUndefined();
    await lock!.release();
  });

  test("renew after the lease ran out re-takes the lock when nobody else did", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    const lock = await storage.tryLock("late", 30);
    await Bun.sleep(60);
    expect(await lock!.renew()).toBe(true);
    expect(await storage.tryLock("late", 10_000)).toBeUndefined();
    await lock!.release();
    expect(existsSync(lockPath(root, "late"))).toBe(false);
  });

  test("concurrent renews near expiry do not report the lock lost", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    const lock = await storage.tryLock("busy", 40);
    await Bun.sleep(60);
    expect(await Promise.all([lock!.renew(), lock!.renew(), lock!.renew()])).toEqual([true, true, true]);
    await lock!.release();
    expect(existsSync(lockPath(root, "busy"))).toBe(false);
  });

  test("renew and release leave another holder's lock alone", async () => {
    const { root } = await freshRoot();
    const storage = new FileStorage(root);
    const lock = await storage.tryLock("mine", 10_000);
    // Another holder took over (say, after a clock jump), writing its own token.
    writeLock(root, "mine", { token: "someone-else", pid: process.pid, bootId: bootId ?? null, hostname: hostname(), expiresAt: Date.now() + 60_000 });
    expect(await lock!.renew()).toBe(false);
    await lock!.release();
    expect(JSON.parse(readFileSync(lockPath(root, "mine"), "utf8")).token).toBe("someone-else");
    // And a lock file that vanished is simply lost.
    await rm(lockPath(root, "mine"));
    const other = await storage.tryLock("mine2", 10_000);
    await rm(lockPath(root, "mine2"));
    expect(await other!.renew()).toBe(false);
    await other!.release();
  });

  /** Starts four racer processes at the same moment; resolves what each printed, once all have exited. */
  async function raceProcesses(root: string): Promise<string[]> {
    const fixture = join(import.meta.dir, "fixtures", "lock-race.ts");
    const startAt = Date.now() + 700;
    const racers = Array.from({ length: 4 }, () =>
      Bun.spawn([process.execPath, fixture, root, String(startAt)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" }),
    );
    const firstLine = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let text = "";
      for await (const chunk of stream) {
        text += decoder.decode(chunk, { stream: true });
        if (text.includes("\n")) break;
      }
      return text.trim();
    };
    const results = await Promise.all(racers.map((racer) => firstLine(racer.stdout)));
    // Only now may the winner exit: see the fixture.
    for (const racer of racers) racer.stdin.end();
    expect(await Promise.all(racers.map((racer) => racer.exited))).toEqual([0, 0, 0, 0]);
    return results.sort();
  }

  test("exactly one of several processes racing for a lock wins", async () => {
    const { root } = await freshRoot();
    expect(await raceProcesses(root)).toEqual(["lost", "lost", "lost", "won"]);
    expect(existsSync(lockPath(root, "race"))).toBe(false);
  }, 20_000);

  test("exactly one of several processes racing to break a stale lock wins", async () => {
    const { root } = await freshRoot();
    writeLock(root, "race", { token: "old", pid: 1, bootId: null, hostname: "elsewhere", expiresAt: Date.now() - 1 });
    expect(await raceProcesses(root)).toEqual(["lost", "lost", "lost", "won"]);
    expect(readdirSync(join(root, "locks"))).toEqual([]);
  }, 20_000);
});
