import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { deadPid, storageRoots } from "../support/storage.ts";

// FileStorage's lock files (src/storage/file-lock.ts): what they record,
// how a dead holder's lock is broken (by exactly one breaker, also across
// processes), and leases renewed near expiry.

const roots = storageRoots();
afterAll(() => roots.removeAll());
const freshRoot = () => roots.fresh();
const mode = (path: string) => statSync(path).mode & 0o777;
const bootId = (() => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined;
  }
})();

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
