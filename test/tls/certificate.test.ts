import { describe, expect, test } from "bun:test";
import { inspectCertificate, unusableReason, type CertificateMeta } from "../../src/tls/certificate.ts";
import { LETS_ENCRYPT } from "../../src/tls/directory.ts";
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
