import { expect, test } from "bun:test";
import { certId } from "../../src/tls/cert-id.ts";
import { issuedByTestCa as issued } from "../support/certificates.ts";

// The ARI CertID (RFC 9773 §4.1), checked against what openssl itself says
// of a certificate's Authority Key Identifier and serial.

const b64url = (hex: string) => Buffer.from(hex, "hex").toString("base64url");

test("CertID is base64url(AKI keyIdentifier) . base64url(serial DER content)", () => {
  const { pem, aki, serialHex } = issued("0x1234567890abcdef");
  expect(certId(pem)).toBe(`${b64url(aki)}.${b64url(serialHex)}`);
});

test("a serial with its high bit set keeps the DER sign byte, as in RFC 9773's example (0x87654321 → AIdlQyE)", () => {
  const { pem, aki } = issued("0x87654321");
  expect(certId(pem)).toBe(`${b64url(aki)}.AIdlQyE`);
});

test("a certificate without an Authority Key Identifier cannot be named", () => {
  expect(() => certId(issued("0x01", false).pem)).toThrow("the certificate has no Authority Key Identifier, so ARI cannot name it");
  expect(() => certId("no pem here")).toThrow("no certificate in the PEM");
});
