import { describe, expect, test } from "bun:test";
import { inspectCertificate, renewalDue, unusableReason, type CertificateMeta } from "../../src/tls/certificate.ts";
import { parseRetryAfter } from "../../src/tls/acme-http.ts";
import { directoryId, directoryUrl, LETS_ENCRYPT } from "../../src/tls/directory.ts";
import { selfSigned } from "../support/self-signed.ts";

const DIRECTORY = "https://ca.example.test/dir";
const meta = (overrides: Partial<CertificateMeta> = {}): CertificateMeta => ({
  directoryUrl: DIRECTORY,
  names: [],
  issuedAt: new Date().toISOString(),
  notAfter: new Date().toISOString(),
  keyType: "ecdsa",
  ...overrides,
});

describe("inspectCertificate", () => {
  const { certPem, keyPem } = selfSigned(["docs.example.test", "api.example.test"]);

  test("reads names, validity and issuer from the PEM itself", () => {
    const info = inspectCertificate(certPem, keyPem);
    expect(info.names).toEqual(["docs.example.test", "api.example.test"]);
    expect(info.notAfter.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(info.issuer).toBe("docs.example.test");
  });

  test("a key of another certificate, garbage or an empty file is refused with a reason", () => {
    const other = selfSigned(["docs.example.test"]);
    expect(() => inspectCertificate(certPem, other.keyPem)).toThrow("does not belong");
    expect(() => inspectCertificate("garbage", keyPem)).toThrow("no certificate");
    expect(() => inspectCertificate(certPem.replace(/[A-Za-z]{20}/, "x"), keyPem)).toThrow();
    expect(() => inspectCertificate(certPem, "")).toThrow("private key does not parse");
  });

  test("RSA keys work too", () => {
    const rsa = selfSigned(["docs.example.test"], { keyType: "rsa" });
    expect(inspectCertificate(rsa.certPem, rsa.keyPem).names).toEqual(["docs.example.test"]);
  });
});

describe("unusableReason", () => {
  const { certPem, keyPem } = selfSigned(["docs.example.test"]);
  const info = inspectCertificate(certPem, keyPem);

  test("a matching, current certificate from the configured CA is usable", () => {
    expect(unusableReason({ info, meta: meta() }, ["docs.example.test"], DIRECTORY)).toBeUndefined();
  });
  test("names, CA and expiry are each checked", () => {
    expect(unusableReason({ info, meta: meta() }, ["docs.example.test", "new.example.test"], DIRECTORY)).toContain("does not cover new.example.test");
    expect(unusableReason({ info, meta: meta({ directoryUrl: LETS_ENCRYPT.staging }) }, ["docs.example.test"], DIRECTORY)).toContain("another CA");
    expect(unusableReason({ info, meta: meta() }, ["docs.example.test"], DIRECTORY, new Date(info.notAfter.getTime() + 1))).toContain("expired");
  });
});

test("renewal is due when a third of the lifetime is left", () => {
  const notBefore = new Date("2026-01-01T00:00:00Z");
  const notAfter = new Date("2026-04-01T00:00:00Z"); // 90 days
  expect(renewalDue({ notBefore, notAfter }, 1 / 3).toISOString()).toBe("2026-03-02T00:00:00.000Z");
  // 6-day short-lived certificate: renew with 2 days left.
  expect(renewalDue({ notBefore, notAfter: new Date("2026-01-07T00:00:00Z") }, 1 / 3).toISOString()).toBe("2026-01-05T00:00:00.000Z");
});

test("Retry-After in seconds or as a date", () => {
  const now = Date.parse("2026-11-27T00:00:00Z");
  expect(parseRetryAfter("120", now)).toBe(120_000);
  expect(parseRetryAfter("Fri, 27 Nov 2026 00:01:00 GMT", now)).toBe(60_000);
  expect(parseRetryAfter("soon", now)).toBeUndefined();
  expect(parseRetryAfter(undefined, now)).toBeUndefined();
});

test("directories: names and per-CA storage ids", () => {
  expect(directoryUrl("staging")).toBe(LETS_ENCRYPT.staging);
  expect(directoryUrl("https://ca.example.test/dir")).toBe("https://ca.example.test/dir");
  expect(directoryId(LETS_ENCRYPT.production)).toStartWith("acme-v02.api.letsencrypt.org-");
  expect(directoryId(LETS_ENCRYPT.production)).not.toBe(directoryId(LETS_ENCRYPT.staging));
  expect(directoryId("https://127.0.0.1:14000/dir")).toMatch(/^[A-Za-z0-9._-]+$/);
});
