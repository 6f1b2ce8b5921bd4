import { X509Certificate } from "node:crypto";
import { pemBlocks } from "./certificate.ts";

/**
 * The ARI certificate identifier (RFC 9773 §4.1):
 * `base64url(keyIdentifier of the Authority Key Identifier) "." base64url(serial)`,
 * where the serial is the DER content octets of the serialNumber INTEGER
 * (a leading 0x00 kept when the CA's encoding has one). It names the
 * certificate in the renewalInfo URL and in a new order's `replaces`.
 *
 * @throws Error when the leaf has no Authority Key Identifier with a key
 * identifier (every publicly trusted certificate has one; ARI cannot name
 * a certificate without it).
 */
export function certId(certPem: string): string {
  const [leaf] = pemBlocks(certPem);
  if (!leaf) throw new Error("no certificate in the PEM");
  const der = new Uint8Array(new X509Certificate(leaf).raw);
  const certificate = readTlv(der, 0);
  const tbs = readTlv(der, certificate.start);
  let at = tbs.start;
  let field = readTlv(der, at);
  if (field.tag === 0xa0) field = readTlv(der, (at = field.end)); // [0] version
  const serial = der.subarray(field.start, field.end);
  let keyIdentifier: Uint8Array | undefined;
  for (at = field.end; at < tbs.end; ) {
    const next = readTlv(der, at);
    if (next.tag === 0xa3) keyIdentifier = authorityKeyId(der, readTlv(der, next.start));
    at = next.end;
  }
  if (!keyIdentifier) throw new Error("the certificate has no Authority Key Identifier, so ARI cannot name it");
  return `${Buffer.from(keyIdentifier).toString("base64url")}.${Buffer.from(serial).toString("base64url")}`;
}

/** OID 2.5.29.35 (authorityKeyIdentifier), DER content octets. */
const AKI_OID = [0x55, 0x1d, 0x23];

/** The keyIdentifier of the AKI among `extensions` (a SEQUENCE OF Extension). */
function authorityKeyId(der: Uint8Array, extensions: Tlv): Uint8Array | undefined {
  for (let at = extensions.start; at < extensions.end; ) {
    const extension = readTlv(der, at);
    at = extension.end;
    const oid = readTlv(der, extension.start);
    if (oid.tag !== 0x06 || oid.end - oid.start !== 3 || AKI_OID.some((byte, i) => der[oid.start + i] !== byte)) continue;
    let value = readTlv(der, oid.end);
    if (value.tag === 0x01) value = readTlv(der, value.end); // critical BOOLEAN
    const aki = readTlv(der, value.start); // AuthorityKeyIdentifier SEQUENCE inside the OCTET STRING
    for (let inner = aki.start; inner < aki.end; ) {
      const part = readTlv(der, inner);
      if (part.tag === 0x80) return der.subarray(part.start, part.end); // [0] IMPLICIT keyIdentifier
      inner = part.end;
    }
  }
  return undefined;
}

interface Tlv {
  tag: number;
  /** Offset of the content. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

/** One DER tag-length-value at `at` (single-byte tags, definite lengths: all X.509 uses). */
function readTlv(der: Uint8Array, at: number): Tlv {
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4) throw new Error("unsupported DER length in the certificate");
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  if (start + length > der.length) throw new Error("truncated DER in the certificate");
  return { tag, start, end: start + length };
}
