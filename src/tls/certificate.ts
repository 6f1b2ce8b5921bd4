import { X509Certificate, createPrivateKey } from "node:crypto";
import { canonicalIp } from "../config/schemas.ts";

/**
 * What the server knows about a certificate it holds: parsed from the PEM it
 * will serve, never trusted from a side file alone.
 */
export interface CertificateInfo {
  /** Names of the leaf (subjectAltName): DNS names lowercase, IP addresses in canonical form. */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** Issuer of the leaf, as its distinguished name's CN (or the whole DN). */
  issuer: string;
  serialNumber: string;
}

/** Facts recorded beside a certificate when it is stored. */
export interface CertificateMeta {
  /** ACME directory the certificate came from: switching CA replaces it. */
  directoryUrl: string;
  names: string[];
  issuedAt: string;
  notAfter: string;
  keyType: string;
}

/** The certificate set the TLS listener serves. */
export interface CertificateBundle {
  /** Leaf first, then the intermediates: served as the complete chain. */
  certPem: string;
  keyPem: string;
  meta: CertificateMeta;
  info: CertificateInfo;
}

/** Splits a PEM chain into its certificates, leaf first. */
export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Parses a certificate chain and checks that `keyPem` is the leaf's key.
 * @throws Error with a one-line reason: unparsable certificate or key, or a key that does not match.
 */
export function inspectCertificate(certPem: string, keyPem: string): CertificateInfo {
  const [leafPem] = pemBlocks(certPem);
  if (!leafPem) throw new Error("no certificate in the PEM file");
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch (error) {
    throw new Error(`certificate does not parse (${(error as Error).message})`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new Error(`private key does not parse (${(error as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) throw new Error("private key does not belong to the certificate");
  const names = (leaf.subjectAltName ?? "").split(/,\s*/).flatMap((entry) => {
    if (entry.startsWith("DNS:")) return [entry.slice(4).toLowerCase()];
    if (entry.startsWith("IP Address:")) return [canonicalIp(entry.slice(11)) ?? entry.slice(11)];
    return [];
  });
  return {
    names,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    issuer: /CN=([^\n,]+)/.exec(leaf.issuer)?.[1] ?? leaf.issuer.replace(/\n/g, ", "),
    serialNumber: leaf.serialNumber,
  };
}

/**
 * Whether a stored certificate may be served for `domains` from `directoryUrl`
 * at `now`. Existence is not enough: it must parse, match its key, cover
 * every configured name, come from the configured CA, and not be expired.
 *
 * @returns `undefined` when usable, else the reason it is not (for the log).
 */
export function unusableReason(
  bundle: Pick<CertificateBundle, "info" | "meta">,
  domains: readonly string[],
  directoryUrl: string,
  now = new Date(),
): string | undefined {
  const missing = domains.filter((domain) => !bundle.info.names.includes(domain));
  if (missing.length) return `it does not cover ${missing.join(", ")}`;
  if (bundle.meta.directoryUrl !== directoryUrl) return `it came from another CA (${bundle.meta.directoryUrl})`;
  if (bundle.info.notAfter <= now) return `it expired at ${bundle.info.notAfter.toISOString()}`;
  if (bundle.info.notBefore > now) return `it is not valid before ${bundle.info.notBefore.toISOString()}`;
  return undefined;
}
