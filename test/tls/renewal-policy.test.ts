import { expect, test } from "bun:test";
import type { CertificateBundle } from "../../src/tls/certificate.ts";
import { lifetimeRatio, renewalDue } from "../../src/tls/renewal-policy.ts";

test("renewal is due when a third of the lifetime is left", () => {
  const notBefore = new Date("2026-01-01T00:00:00Z");
  const notAfter = new Date("2026-04-01T00:00:00Z"); // 90 days
  expect(renewalDue({ notBefore, notAfter }, 1 / 3).toISOString()).toBe("2026-03-02T00:00:00.000Z");
  // 6-day short-lived certificate: renew with 2 days left.
  expect(renewalDue({ notBefore, notAfter: new Date("2026-01-07T00:00:00Z") }, 1 / 3).toISOString()).toBe("2026-01-05T00:00:00.000Z");
});

test("the lifetime-ratio window starts when renewal is due and lasts 5% of the lifetime, an hour at most", async () => {
  const certificate = (notBefore: string, notAfter: string) =>
    ({ info: { notBefore: new Date(notBefore), notAfter: new Date(notAfter) } }) as CertificateBundle;
  const ninetyDays = certificate("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z");
  expect(await lifetimeRatio(1 / 3).window(ninetyDays)).toEqual({ start: Date.parse("2026-03-02T00:00:00Z"), end: Date.parse("2026-03-02T01:00:00Z"), source: "lifetime" });
  // 20 seconds: the window is 5% of it, one second.
  const short = certificate("2026-01-01T00:00:00Z", "2026-01-01T00:00:20Z");
  expect(await lifetimeRatio(0.5).window(short)).toEqual({ start: Date.parse("2026-01-01T00:00:10Z"), end: Date.parse("2026-01-01T00:00:11Z"), source: "lifetime" });
});
