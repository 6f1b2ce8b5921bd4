import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log/index.ts";
import { ariPolicy } from "../../src/tls/ari.ts";
import { certId } from "../../src/tls/cert-id.ts";
import type { CertificateBundle } from "../../src/tls/certificate.ts";
import type { Issuer } from "../../src/tls/issuer.ts";
import { CertificateMaintainer } from "../../src/tls/maintain.ts";
import { lifetimeRatio } from "../../src/tls/renewal-policy.ts";
import { fakeCertificate, issuedByTestCa } from "../support/certificates.ts";
import { FakeClock } from "../support/fake-clock.ts";

// ACME Renewal Information (RFC 9773) on a fake clock: the policy against a
// CA that is a function here (the real thing, Pebble behind an ARI shim,
// is in ari-e2e.test.ts), and the maintenance loop following its windows.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DIRECTORY = "https://ca.example.test/dir";
const RENEWAL_INFO = "https://ca.example.test/renewal-info";
const pem = issuedByTestCa("0x87654321").pem;

/** A certificate the policy can name (a real PEM with an AKI) with the validity the test wants. */
const certificate = (serial: string, notBefore: number, days: number): CertificateBundle => ({ ...fakeCertificate(serial, notBefore, notBefore + days * DAY), certPem: pem });

interface Answer {
  status?: number;
  window?: { start: number; end: number };
  retryAfter?: string;
  explanationURL?: string;
}

/** A CA as a fetch function: a directory (with or without renewalInfo) and renewalInfo answers the test sets. */
function fakeCa(options: { renewalInfo?: boolean } = {}) {
  const asked: string[] = [];
  const ca = {
    asked,
    answer: { window: undefined } as Answer,
    down: false,
    fetch: async (url: string): Promise<Response> => {
      asked.push(url);
      if (ca.down) throw new Error("ECONNREFUSED (test)");
      if (url === DIRECTORY) return Response.json({ newOrder: "https://ca.example.test/new-order", ...(options.renewalInfo === false ? {} : { renewalInfo: RENEWAL_INFO }) });
      const { status = 200, window, retryAfter, explanationURL } = ca.answer;
      if (status !== 200 || !window) return new Response("no", { status: status === 200 ? 404 : status });
      const headers: Record<string, string> = retryAfter ? { "Retry-After": retryAfter } : {};
      return Response.json({ suggestedWindow: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() }, ...(explanationURL ? { explanationURL } : {}) }, { headers });
    },
  };
  return ca;
}

function policyWith(ca: ReturnType<typeof fakeCa>, clock: FakeClock, lines: string[] = []) {
  return ariPolicy({ directoryUrl: DIRECTORY, fallback: lifetimeRatio(1 / 3), clock, logger: createLogger("debug", (line) => lines.push(line)), fetch: ca.fetch, minRecheckMs: 60_000 });
}

describe("ariPolicy", () => {
  test("asks <renewalInfo>/<CertID> and returns the CA's window, kept until the Retry-After", async () => {
    const clock = new FakeClock();
    const ca = fakeCa();
    const now = clock.now();
    ca.answer = { window: { start: now + 40 * DAY, end: now + 41 * DAY }, retryAfter: "21600", explanationURL: "https://ca.example.test/why" };
    const policy = policyWith(ca, clock);
    const bundle = certificate("a", now, 90);
    expect(await policy.window(bundle)).toEqual({ start: now + 40 * DAY, end: now + 41 * DAY, source: "ari", recheckAt: now + 6 * HOUR, explanationUrl: "https://ca.example.test/why" });
    expect(ca.asked).toEqual([DIRECTORY, `${RENEWAL_INFO}/${certId(pem)}`]);
    await clock.advance(6 * HOUR - 1);
    await policy.window(bundle);
    expect(ca.asked).toHaveLength(2);
    await clock.advance(1);
    await policy.window(bundle);
    expect(ca.asked).toHaveLength(3);
  });

  test("the Retry-After is clamped to a minute at least and a day at most; without one, six hours", async () => {
    const clock = new FakeClock();
    const ca = fakeCa();
    const now = clock.now();
    const policy = policyWith(ca, clock);
    const windowFor = async (retryAfter: string | undefined, serial: string) => {
      ca.answer = { window: { start: now + DAY, end: now + 2 * DAY }, retryAfter };
      return (await policy.window(certificate(serial, now, 90))).recheckAt! - now;
    };
    expect(await windowFor("1", "a")).toBe(60_000);
    expect(await windowFor("604800", "b")).toBe(DAY);
    expect(await windowFor(undefined, "c")).toBe(6 * HOUR);
  });

  test("a directory without renewalInfo means the lifetime ratio", async () => {
    const clock = new FakeClock();
    const ca = fakeCa({ renewalInfo: false });
    const now = clock.now();
    const window = await policyWith(ca, clock).window(certificate("a", now, 90));
    expect(window).toMatchObject({ source: "lifetime", start: now + 60 * DAY });
    expect(ca.asked).toEqual([DIRECTORY]);
  });

  test("a CA that cannot answer means the lifetime ratio meanwhile, said once, and ARI again when it is back", async () => {
    const clock = new FakeClock();
    const ca = fakeCa();
    const lines: string[] = [];
    const now = clock.now();
    const policy = policyWith(ca, clock, lines);
    ca.down = true;
    const bundle = certificate("a", now, 90);
    expect(await policy.window(bundle)).toMatchObject({ source: "lifetime", start: now + 60 * DAY, recheckAt: now + HOUR });
    await clock.advance(HOUR);
    await policy.window(bundle);
    expect(lines.filter((line) => /could not get the CA's renewal window \(ARI\)/.test(line))).toHaveLength(1);
    ca.down = false;
    ca.answer = { window: { start: now + 30 * DAY, end: now + 31 * DAY } };
    await clock.advance(HOUR);
    expect(await policy.window(bundle)).toMatchObject({ source: "ari", start: now + 30 * DAY });
    expect(lines.filter((line) => /renewal window \(ARI\) is available again/.test(line))).toHaveLength(1);
  });

  test("an answer without a valid window, or a 404, falls back", async () => {
    const clock = new FakeClock();
    const ca = fakeCa();
    ca.answer = { status: 404 };
    expect((await policyWith(ca, clock).window(certificate("a", clock.now(), 90))).source).toBe("lifetime");
  });
});

describe("the maintenance loop with ARI", () => {
  function loop(ca: ReturnType<typeof fakeCa>, stored: CertificateBundle, random = 0.5) {
    const clock = new FakeClock();
    const lines: string[] = [];
    const issued: number[] = [];
    let serial = 0;
    const issuer: Issuer = {
      async issue(request) {
        issued.push(clock.now());
        // The new certificate's window is months away (the fake CA answers one window for every CertID).
        ca.answer = { window: { start: clock.now() + 60 * DAY, end: clock.now() + 61 * DAY } };
        return { bundle: certificate(`new-${++serial}`, clock.now(), 90), from: "order", renewal: request.current() !== undefined };
      },
      async stop() {},
    };
    const maintainer = new CertificateMaintainer({
      store: { loadUsable: async () => stored },
      issuer,
      policy: policyWith(ca, clock, lines),
      clock,
      random: () => random,
      logger: createLogger("debug", (line) => lines.push(line)),
      onCertificate: () => {},
      storagePollMs: 1_000 * DAY,
    });
    return { clock, maintainer, lines, issued };
  }

  test("renews at a random moment of the CA's window, re-checks at the Retry-After, and keeps its moment while the window holds", async () => {
    const ca = fakeCa();
    const start = new FakeClock().now();
    ca.answer = { window: { start: start + 10 * DAY, end: start + 12 * DAY }, retryAfter: String((6 * HOUR) / 1000) };
    const t = loop(ca, certificate("stored", start, 90));
    await t.maintainer.start();
    const moment = start + 11 * DAY;
    expect(t.maintainer.status()).toMatchObject({ nextRenewalAt: new Date(moment).toISOString(), renewalWindow: { source: "ari", start: new Date(start + 10 * DAY).toISOString(), end: new Date(start + 12 * DAY).toISOString() } });
    const asked = ca.asked.length;
    await t.clock.advance(6 * HOUR);
    expect(ca.asked.length).toBe(asked + 1); // re-checked at the Retry-After
    expect(t.maintainer.status().nextRenewalAt).toBe(new Date(moment).toISOString());
    await t.clock.advance(moment - t.clock.now());
    expect(t.issued).toEqual([moment]);
  });

  test("a window moved into the past (a revocation) renews at once, at the next re-check", async () => {
    const ca = fakeCa();
    const start = new FakeClock().now();
    ca.answer = { window: { start: start + 60 * DAY, end: start + 61 * DAY }, retryAfter: "3600" };
    const t = loop(ca, certificate("stored", start, 90));
    await t.maintainer.start();
    ca.answer = { window: { start: start - 2 * DAY, end: start - DAY }, retryAfter: "3600", explanationURL: "https://ca.example.test/incident" };
    await t.clock.advance(HOUR - 1);
    expect(t.issued).toEqual([]);
    await t.clock.advance(1);
    expect(t.issued).toEqual([start + HOUR]);
    const [line] = t.lines.filter((l) => /moved the renewal window into the past; renewing now/.test(l));
    expect(line).toContain("explanation=https://ca.example.test/incident");
    expect(t.maintainer.status()).toMatchObject({ renewals: 1 });
  });

  test("a window moved earlier but still ahead gets a new moment inside it", async () => {
    const ca = fakeCa();
    const start = new FakeClock().now();
    ca.answer = { window: { start: start + 60 * DAY, end: start + 62 * DAY }, retryAfter: "3600" };
    const t = loop(ca, certificate("stored", start, 90), 0.5);
    await t.maintainer.start();
    ca.answer = { window: { start: start + 5 * DAY, end: start + 7 * DAY }, retryAfter: "3600" };
    await t.clock.advance(HOUR);
    expect(t.maintainer.status().nextRenewalAt).toBe(new Date(start + 6 * DAY).toISOString());
    expect(t.lines.filter((l) => /the CA moved the renewal window earlier/.test(l))).toHaveLength(1);
  });
});

describe("short lifetimes", () => {
  test("a renewal failing on a 6-day certificate's last day is logged as urgent", async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const start = clock.now();
    const stored = fakeCertificate("six-day", start - 4 * DAY, start + 2 * DAY);
    const maintainer = new CertificateMaintainer({
      store: { loadUsable: async () => stored },
      issuer: {
        async issue() {
          throw new Error("the CA is down (test)");
        },
        async stop() {},
      },
      policy: lifetimeRatio(1 / 3),
      clock,
      random: () => 0,
      logger: createLogger("debug", (line) => lines.push(line)),
      onCertificate: () => {},
      retryMinMs: HOUR,
      retryMaxMs: HOUR,
      storagePollMs: 1_000 * DAY,
    });
    await maintainer.start();
    await clock.advance(HOUR); // due at once (a third left), failing every hour from then on
    const failures = lines.filter((line) => /level=error/.test(line));
    expect(failures[0]).toContain('msg="certificate renewal failed; still serving the current certificate"');
    expect(failures[0]).not.toContain("urgent=true");
    await clock.advance(DAY + HOUR);
    const urgent = lines.filter((line) => /urgent=true/.test(line));
    expect(urgent.length).toBeGreaterThan(0);
    expect(urgent[0]).toContain('msg="URGENT: certificate renewal failed and the certificate expires soon; still serving it"');
    expect(Number(/expiresInSeconds=(\d+)/.exec(urgent[0]!)![1])).toBeLessThanOrEqual(24 * 3600);
    await maintainer.stop();
  });
});
