import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log/index.ts";
import type { Lock, Locker } from "../../src/storage/storage.ts";
import type { CertificateBundle } from "../../src/tls/certificate.ts";
import { CertificateIssuer, type IssueRequest } from "../../src/tls/issuer.ts";
import { fakeCertificate } from "../support/certificates.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { diskFullError } from "../support/faulty-storage.ts";

// The issuer (src/tls/issuer.ts) with an in-memory lock, a fake store and a
// fake order, on a fake clock: who orders, when nobody needs to, and what
// happens to a certificate storage refused. Against a real CA and disk:
// faults.test.ts.

const DAY = 86_400_000;
const LOCK = "certificate-docs.example.test";

/** Locks in memory, as another process would hold them. */
function memoryLocker() {
  const held = new Map<string, string>();
  let renewals = 0;
  const locker: Locker = {
    async tryLock(name) {
      if (held.has(name)) return undefined;
      const token = crypto.randomUUID();
      held.set(name, token);
      const lock: Lock = {
        name,
        async renew() {
          renewals++;
          return held.get(name) === token;
        },
        async release() {
          if (held.get(name) === token) held.delete(name);
        },
      };
      return lock;
    },
  };
  return { locker, held, renewals: () => renewals };
}

function setup(options: { lockTtlMs?: number } = {}) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const locks = memoryLocker();
  const storage = {
    stored: undefined as CertificateBundle | undefined,
    /** The next store calls that fail, with this error. */
    refuse: [] as Error[],
    usable: (_bundle: CertificateBundle) => true,
  };
  const orders: number[] = [];
  const phases: string[] = [];
  const steps: string[] = [];
  let orderGate: Promise<void> | undefined;
  let serial = 0;
  const issuer = new CertificateIssuer({
    store: {
      loadUsable: async () => storage.stored,
      isUsable: (bundle) => storage.usable(bundle),
      async store(bundle) {
        const refusal = storage.refuse.shift();
        if (refusal) throw refusal;
        storage.stored = bundle;
      },
    },
    locker: locks.locker,
    domains: ["docs.example.test"],
    directoryUrl: "https://ca.example.test/dir",
    async order() {
      orders.push(clock.now());
      await orderGate;
      return fakeCertificate(`issued-${++serial}`, clock.now(), clock.now() + 90 * DAY);
    },
    clock,
    logger: createLogger("debug", (line) => lines.push(line)),
    lockTtlMs: options.lockTtlMs,
    onOrder: (phase) => phases.push(phase),
    onStep: (step) => void steps.push(step),
  });
  /** A request from a loop serving `current`, for which certificates issued before `dueBefore` are due. */
  const request = (current?: CertificateBundle, dueBefore = clock.now() - 60 * DAY): IssueRequest => ({
    current: () => current,
    isDue: async (bundle) => bundle.info.notBefore.getTime() <= dueBefore,
  });
  return {
    clock,
    issuer,
    locks,
    storage,
    orders,
    phases,
    steps,
    request,
    /** Makes the next orders wait until the returned function is called. */
    holdOrders() {
      let open!: () => void;
      orderGate = new Promise((resolve) => (open = resolve));
      return () => {
        orderGate = undefined;
        open();
      };
    },
    logged: (pattern: RegExp) => lines.filter((line) => pattern.test(line)),
  };
}

describe("ordering", () => {
  test("orders under the issuance lock, stores the certificate, says `stored`, and releases the lock", async () => {
    const t = setup();
    const issued = await t.issuer.issue(t.request());
    expect(issued.from).toBe("order");
    expect(issued.renewal).toBe(false);
    expect(issued.bundle.info.serialNumber).toBe("issued-1");
    expect(t.storage.stored).toBe(issued.bundle);
    expect(t.orders).toHaveLength(1);
    expect(t.phases).toEqual(["start", "end"]);
    expect(t.steps).toEqual(["stored"]);
    expect(t.locks.held.size).toBe(0);
    expect(t.logged(/msg="obtaining certificate" names=docs.example.test directory=/)).toHaveLength(1);
    expect(t.logged(/msg="certificate stored"/)).toHaveLength(1);
  });

  test("a certificate another process stored meanwhile is used as it is, without an order", async () => {
    const t = setup();
    const fresh = fakeCertificate("stored-elsewhere", t.clock.now(), t.clock.now() + 90 * DAY);
    t.storage.stored = fresh;
    const issued = await t.issuer.issue(t.request());
    expect(issued).toMatchObject({ bundle: fresh, from: "storage" });
    expect(t.orders).toEqual([]);
    expect(t.steps).toEqual([]);
    expect(t.logged(/msg="certificate in storage is current; no order needed"/)).toHaveLength(1);
    expect(t.locks.held.size).toBe(0);
  });

  test("a stored certificate that is due is renewed", async () => {
    const t = setup();
    const old = fakeCertificate("old", t.clock.now() - 70 * DAY, t.clock.now() + 20 * DAY);
    t.storage.stored = old;
    const issued = await t.issuer.issue(t.request(old));
    expect(issued).toMatchObject({ from: "order", renewal: true });
    expect(t.logged(/msg="renewing certificate"/)).toHaveLength(1);
  });

  test("onOrder brackets a failing order too, and nothing is stored", async () => {
    const t = setup();
    const failing = new CertificateIssuer({
      store: { loadUsable: async () => undefined, isUsable: () => true, store: async () => expect.unreachable() },
      locker: t.locks.locker,
      domains: ["docs.example.test"],
      directoryUrl: "https://ca.example.test/dir",
      order: async () => {
        throw new Error("the CA said no (test)");
      },
      clock: t.clock,
      logger: createLogger("error", () => {}),
      onOrder: (phase) => t.phases.push(phase),
    });
    await expect(failing.issue(t.request())).rejects.toThrow("the CA said no (test)");
    expect(t.phases).toEqual(["start", "end"]);
    expect(t.locks.held.size).toBe(0);
  });
});

describe("the issuance lock", () => {
  test("held by another process: waits, saying so once, then uses what the holder stored", async () => {
    const t = setup();
    t.locks.held.set(LOCK, "someone else");
    let settled = false;
    const issuing = t.issuer.issue(t.request()).finally(() => (settled = true));
    await t.clock.advance(3_000);
    expect(settled).toBe(false);
    expect(t.logged(/msg="waiting for the issuance lock; another process is ordering" lock=certificate-docs.example.test/)).toHaveLength(1);
    // The holder stores its certificate and lets go.
    const theirs = fakeCertificate("theirs", t.clock.now(), t.clock.now() + 90 * DAY);
    t.storage.stored = theirs;
    t.locks.held.delete(LOCK);
    await t.clock.advance(1_000);
    expect(await issuing).toMatchObject({ bundle: theirs, from: "storage" });
    expect(t.orders).toEqual([]);
  });

  test("the lease is renewed every third of its ttl while the order runs, and checked before storing", async () => {
    const t = setup({ lockTtlMs: 3_000 });
    const release = t.holdOrders();
    const issuing = t.issuer.issue(t.request());
    await t.clock.advance(3_500);
    expect(t.locks.renewals()).toBe(3);
    release();
    await issuing;
    expect(t.locks.renewals()).toBe(4);
    await t.clock.advance(10_000);
    expect(t.locks.renewals()).toBe(4); // no more once the lock is released
  });

  test("lost while ordering (expired and taken by another): the certificate is not stored", async () => {
    const t = setup();
    const release = t.holdOrders();
    const issuing = t.issuer.issue(t.request());
    await t.clock.advance(0);
    t.locks.held.set(LOCK, "a successor");
    release();
    await expect(issuing).rejects.toThrow("lost the issuance lock while ordering; not storing the certificate");
    expect(t.storage.stored).toBeUndefined();
    expect(t.locks.held.get(LOCK)).toBe("a successor");
  });

  test("stop ends a wait for the lock, and releases a lock an order holds", async () => {
    const t = setup();
    t.locks.held.set(LOCK, "someone else");
    const waiting = t.issuer.issue(t.request()).then(() => undefined, (error: Error) => error);
    await t.clock.advance(1_000);
    await t.issuer.stop();
    await t.clock.advance(1_000);
    expect((await waiting)?.message).toBe("stopped");

    const u = setup();
    const release = u.holdOrders();
    const ordering = u.issuer.issue(u.request());
    await u.clock.advance(0);
    expect(u.locks.held.size).toBe(1);
    await u.issuer.stop();
    expect(u.locks.held.size).toBe(0);
    release();
    await expect(ordering).rejects.toThrow("lost the issuance lock");
  });
});

describe("a certificate storage refused", () => {
  test("is stored by the next call instead of ordering again", async () => {
    const t = setup();
    t.storage.refuse.push(diskFullError(), diskFullError());
    await expect(t.issuer.issue(t.request())).rejects.toMatchObject({ code: "ENOSPC" });
    await expect(t.issuer.issue(t.request())).rejects.toMatchObject({ code: "ENOSPC" });
    const issued = await t.issuer.issue(t.request());
    expect(issued).toMatchObject({ from: "order" });
    expect(issued.bundle.info.serialNumber).toBe("issued-1");
    expect(t.storage.stored).toBe(issued.bundle);
    expect(t.orders).toHaveLength(1);
    expect(t.logged(/msg="storing the certificate issued earlier, which storage refused then; no new order"/)).toHaveLength(2);
    expect(t.steps).toEqual(["stored"]);
  });

  test("is ordered anew once it is no longer usable, or due", async () => {
    const t = setup();
    t.storage.refuse.push(diskFullError());
    await expect(t.issuer.issue(t.request())).rejects.toMatchObject({ code: "ENOSPC" });
    t.storage.usable = () => false; // say, it expired meanwhile
    expect((await t.issuer.issue(t.request())).bundle.info.serialNumber).toBe("issued-2");

    const u = setup();
    u.storage.refuse.push(diskFullError());
    await expect(u.issuer.issue(u.request())).rejects.toMatchObject({ code: "ENOSPC" });
    const dueNow = u.request(undefined, u.clock.now());
    expect((await u.issuer.issue(dueNow)).bundle.info.serialNumber).toBe("issued-2");
    expect(u.orders).toHaveLength(2);
  });
});
