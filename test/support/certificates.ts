import type { CertificateBundle } from "../../src/tls/certificate.ts";

/**
 * A certificate as the maintenance loop and the issuer see it, without a
 * real key or chain: what they decide by is its serial and validity.
 */
export function fakeCertificate(serial: string, notBefore: number, notAfter: number, names = ["docs.example.test"]): CertificateBundle {
  return {
    certPem: `cert ${serial}`,
    keyPem: `key ${serial}`,
    meta: { directoryUrl: "https://ca.example.test/dir", names, issuedAt: new Date(notBefore).toISOString(), notAfter: new Date(notAfter).toISOString(), keyType: "ecdsa" },
    info: { names, notBefore: new Date(notBefore), notAfter: new Date(notAfter), issuer: "Test CA", serialNumber: serial },
  };
}
