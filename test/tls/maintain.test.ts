import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log/index.ts";
import { AcmeError } from "../../src/tls/acme-client.ts";
import type { CertificateBundle } from "../../src/tls/certificate.ts";
import type { Issued, Issuer, IssueRequest } from "../../src/tls/issuer.ts";
import { CertificateMaintainer, type MaintainerOptions } from "../../src/tls/maintain.ts";
import type { RenewalWindow } from "../../src/tls/renewal-policy.ts";
import { fakeCertificate } from "../support/certificates.ts";
import { FakeClock } from "../support/fake-clock.ts";

// The maintenance loop (src/tls/maintain.ts) on a fake clock: when it
// renews, how it backs off, and what it logs, in milliseconds of test time
// with a fake issuer and storage. The real thing against a real CA is in
// https.test.ts and faults.test.ts.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Where every fake clock starts. */
const START = new FakeClock().now();

interface Setup {
  /** What storage holds (loadUsable resolves it). */
  stored?: CertificateBundle;
  /** The issuer's answer to its n-th call (from 0); `fresh()` is the default answer, a new 90-day certificate. */
  issue?: (n: number, request: IssueRequest, fresh: () => Issued) => Promise<Issued>;
  /** The policy's window (default: from 60 to 61 days after notBefore). */
  window?: (bundle: CertificateBundle) => RenewalWindow;
  random?: () => number;
  onCertificate?: (bundle: CertificateBundle) => void | Promise<void>;
  options?: Partial<MaintainerOptions>;
}

function setup(given: Setup = {}) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const served: CertificateBundle[] = [];
  /** When the issuer was called, in ms since the start. */
  const issued: number[] = [];
  const requests: IssueRequest[] = [];
  const storage = { stored: given.stored, loads: [] as string[] };
  let issuerStopped = false;
  let serial = 0;
  const start = clock.now();
  const issuer: Issuer = {
    async issue(request) {
      issued.push(clock.now() - start);
      requests.push(request);
      const fresh = (): Issued => ({
        bundle: fakeCertificate(`new-${++serial}`, clock.now(), clock.now() + 90 * DAY),
        from: "order",
        renewal: request.current() !== undefined,
      });
      return given.issue ? await given.issue(issued.length - 1, request, fresh) : fresh();
    },
    async stop() {
      issuerStopped = true;
    },
  };
  const maintainer = new CertificateMaintainer({
    store: {
      async loadUsable(when) {
        storage.loads.push(when);
        return storage.stored;
      },
    },
    issuer,
    policy: { window: given.window ?? (({ info }) => ({ start: info.notBefore.getTime() + 60 * DAY, end: info.notBefore.getTime() + 61 * DAY, source: "lifetime" as const })) },
    clock,
    random: given.random ?? (() => 0),
    logger: createLogger("debug", (line) => lines.push(line)),
    onCertificate: async (bundle) => {
      await given.onCertificate?.(bundle);
      served.push(bundle);
    },
    storagePollMs: 1_000 * DAY,
    retryMinMs: 1_000,
    retryMaxMs: 8_000,
    ...given.options,
  });
  return {
    clock,
    maintainer,
    lines,
    served,
    issued,
    requests,
    storage,
    start,
    issuerStopped: () => issuerStopped,
    /** Log lines matching `pattern`. */
    logged: (pattern: RegExp) => lines.filter((line) => pattern.test(line)),
  };
}

describe("schedule", () => {
  test("a usable stored certificate is served at start and renewed at a random moment of its window", async () => {
    const stored = fakeCertificate("stored", START - 10 * DAY, START + 80 * DAY);
    // The window opens 50 days from now and lasts a day; random 0.25 picks 6 hours into it.
    const t = setup({ stored, random: () => 0.25 });
    await t.maintainer.start();
    expect(t.served).toEqual([stored]);
    expect(await t.maintainer.ready()).toBe(stored);
    const renewAt = t.start + 50 * DAY + 6 * HOUR;
    expect(t.maintainer.status()).toMatchObject({ ready: true, names: ["docs.example.test"], nextRenewalAt: new Date(renewAt).toISOString(), renewals: 0, failures: 0 });
    expect(t.logged(/msg="serving certificate" from=storage/)).toHaveLength(1);

    await t.clock.advance(renewAt - t.start - 1);
    expect(t.issued).toEqual([]);
    await t.clock.advance(1);
    expect(t.issued).toEqual([renewAt - t.start]);
    expect(t.served.map((bundle) => bundle.info.serialNumber)).toEqual(["stored", "new-1"]);
    expect(t.maintainer.status()).toMatchObject({ renewals: 1, failures: 0 });
    expect(t.logged(/msg="certificate swapped in" from=order/)).toHaveLength(1);
  });

  test("with nothing usable stored, a certificate is obtained at once, and ready() resolves with it", async () => {
    const t = setup();
    const ready = t.maintainer.ready();
    await t.maintainer.start();
    expect(t.maintainer.status().ready).toBe(false);
    await t.clock.advance(0);
    expect(t.issued).toEqual([0]);
    expect((await ready).info.serialNumber).toBe("new-1");
    expect(t.maintainer.status()).toMatchObject({ ready: true, renewals: 0 });
    expect(t.logged(/msg="serving certificate" from=order/)).toHaveLength(1);
  });

  test("jitter: the random source picks where in the window the renewal falls", async () => {
    for (const [random, offset] of [[0, 0], [0.5, 12 * HOUR], [0.999, 0.999 * DAY]] as const) {
      const t = setup({ random: () => random });
      await t.maintainer.start();
      await t.clock.advance(0);
      expect(t.maintainer.status().nextRenewalAt).toBe(new Date(Math.round(t.start + 60 * DAY + offset)).toISOString());
    }
  });

  test("the issuer is told the loop's own schedule: a certificate is due once its random moment has passed", async () => {
    const t = setup({ random: () => 0.5 });
    await t.maintainer.start();
    await t.clock.advance(0);
    const { isDue } = t.requests[0]!;
    const notDue = fakeCertificate("a", t.clock.now(), t.clock.now() + 90 * DAY); // window from day 60
    const due = fakeCertificate("b", t.clock.now() - 61 * DAY, t.clock.now() + 29 * DAY); // its moment was yesterday
    const halfway = fakeCertificate("c", t.clock.now() - 60 * DAY - 12 * HOUR, t.clock.now() + 30 * DAY); // its moment is now
    expect(await isDue(notDue)).toBe(false);
    expect(await isDue(due)).toBe(true);
    expect(await isDue(halfway)).toBe(true);
  });

  test("between renewals storage is polled, and a certificate another process stored is swapped in and rescheduled", async () => {
    const now = START;
    const first = fakeCertificate("first", now, now + 90 * DAY);
    const t = setup({ stored: first, options: { storagePollMs: 10 * 60_000 } });
    await t.maintainer.start();
    await t.clock.advance(10 * 60_000 - 1);
    expect(t.storage.loads).toEqual(["start"]);
    await t.clock.advance(1);
    expect(t.storage.loads).toEqual(["start", "poll"]);
    expect(t.served).toEqual([first]); // the same serial: nothing to swap

    const renewed = fakeCertificate("renewed-elsewhere", now + 5 * 60_000, now + 95 * DAY);
    t.storage.stored = renewed;
    await t.clock.advance(10 * 60_000);
    expect(t.served).toEqual([first, renewed]);
    expect(t.logged(/msg="certificate swapped in" from=storage/)).toHaveLength(1);
    expect(t.maintainer.status().nextRenewalAt).toBe(new Date(now + 5 * 60_000 + 60 * DAY).toISOString());
    expect(t.issued).toEqual([]);
  });

  test("a renewal months away is waited for in steps no timer exceeds", async () => {
    const now = START;
    const t = setup({ stored: fakeCertificate("long", now, now + 400 * DAY), window: () => ({ start: now + 200 * DAY, end: now + 200 * DAY, source: "lifetime" }) });
    await t.maintainer.start();
    expect(t.clock.pending).toEqual([now + 2 ** 31 - 1]);
    await t.clock.advance(2 ** 31 - 1);
    expect(t.issued).toEqual([]);
    expect(t.clock.pending).toEqual([now + 2 * (2 ** 31 - 1)]);
  });

  test("stop cancels the timer and stops the issuer", async () => {
    const t = setup();
    await t.maintainer.start();
    await t.maintainer.stop();
    expect(t.issuerStopped()).toBe(true);
    expect(t.clock.pending).toEqual([]);
    await t.clock.advance(DAY);
    expect(t.issued).toEqual([]);
  });
});

describe("backoff", () => {
  const failing = (error: Error = new Error("the CA is down (test)")) => async () => {
    throw error;
  };

  test("failures retry after retryMinMs, doubling up to retryMaxMs, each times 0.9 with the jitter at its lowest", async () => {
    const t = setup({ issue: failing(), random: () => 0 });
    await t.maintainer.start();
    await t.clock.advance(60_000);
    const gaps = t.issued.slice(1).map((at, i) => at - t.issued[i]!);
    // 1 s, 2 s, 4 s, then the 8 s cap, each × 0.9.
    expect(gaps.slice(0, 6)).toEqual([900, 1_800, 3_600, 7_200, 7_200, 7_200]);
    expect(t.maintainer.status()).toMatchObject({ ready: false, lastError: "the CA is down (test)" });
    expect(t.maintainer.status().failures).toBe(t.issued.length);
  });

  test("the jitter is at most ±10%", async () => {
    const t = setup({ issue: failing(), random: () => 0.999_999 });
    await t.maintainer.start();
    await t.clock.advance(20_000);
    const gaps = t.issued.slice(1).map((at, i) => at - t.issued[i]!);
    expect(gaps.slice(0, 4)).toEqual([1_100, 2_200, 4_400, 8_800]);
  });

  test("a Retry-After longer than the backoff is a floor, even with the jitter at its lowest", async () => {
    const limited = new AcmeError("too many new orders (test)", { type: "urn:ietf:params:acme:error:rateLimited", detail: "too many new orders (test)", status: 429, retryAfterMs: 5_000, url: "https://ca.example.test/new-order" });
    const t = setup({ issue: async (n, _, fresh) => (n === 0 ? failing(limited)() : fresh()), random: () => 0 });
    await t.maintainer.start();
    await t.clock.advance(4_999);
    expect(t.issued).toEqual([0]);
    await t.clock.advance(1);
    expect(t.issued).toEqual([0, 5_000]);
    const [line] = t.logged(/level=error/);
    expect(line).toContain('msg="could not get a certificate; will retry"');
    expect(line).toContain("problem=urn:ietf:params:acme:error:rateLimited");
    expect(line).toContain("status=429");
    expect(line).toContain(" retryInSeconds=5 ");
    expect(line).toContain("hint=\"the CA's rate limit was hit");
  });

  test("a Retry-After shorter than the backoff does not shorten it", async () => {
    const unavailable = new AcmeError("maintenance (test)", { type: "urn:ietf:params:acme:error:serverInternal", detail: "maintenance (test)", status: 503, retryAfterMs: 10, url: "" });
    const t = setup({ issue: failing(unavailable), random: () => 0.5 });
    await t.maintainer.start();
    await t.clock.advance(1_000);
    expect(t.issued).toEqual([0, 1_000]);
  });

  test("success resets the backoff; a renewal failure keeps the current certificate and says so, without a hint", async () => {
    const t = setup({
      issue: async (n, _, fresh) => {
        if (n === 1 || n === 3) throw new Error("storage is full (test)");
        return fresh();
      },
      window: ({ info }) => ({ start: info.notBefore.getTime() + 10_000, end: info.notBefore.getTime() + 10_000, source: "lifetime" }),
      random: () => 0,
    });
    await t.maintainer.start();
    await t.clock.advance(0);
    const first = t.maintainer.current!;
    await t.clock.advance(10_000);
    expect(t.maintainer.current).toBe(first);
    expect(t.maintainer.status()).toMatchObject({ ready: true, failures: 1, renewals: 0, lastError: "storage is full (test)" });
    const [line] = t.logged(/level=error/);
    expect(line).toContain('msg="certificate renewal failed; still serving the current certificate"');
    expect(line).not.toContain("hint=");
    await t.clock.advance(900);
    expect(t.maintainer.current).not.toBe(first);
    expect(t.maintainer.status()).toMatchObject({ failures: 1, renewals: 1, lastError: undefined });
    // The next failure starts the backoff from the beginning again: 0.9 s, not 1.8 s.
    await t.clock.advance(10_000 + 900);
    expect(t.issued).toEqual([0, 10_000, 10_900, 20_900, 21_800]);
    expect(t.maintainer.status()).toMatchObject({ failures: 2, renewals: 2 });
  });

  test("a swap that fails counts as a failure and leaves `current` alone; the retry serves", async () => {
    let refuse = true;
    const t = setup({
      onCertificate: () => {
        if (refuse) {
          refuse = false;
          throw new Error("the new TLS listener could not start (test)");
        }
      },
      random: () => 0,
    });
    await t.maintainer.start();
    await t.clock.advance(0);
    expect(t.maintainer.current).toBeUndefined();
    expect(t.maintainer.status()).toMatchObject({ ready: false, failures: 1, lastError: "the new TLS listener could not start (test)" });
    await t.clock.advance(900);
    expect(t.maintainer.status()).toMatchObject({ ready: true, failures: 1, lastError: undefined });
    expect(t.served).toHaveLength(1);
  });
});
