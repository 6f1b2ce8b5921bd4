import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/** A leaf signed by a throwaway CA with `serial`, and openssl's reading of its AKI and serial. */
export function issuedByTestCa(serial: string, aki = true): { pem: string; aki: string; serialHex: string } {
  const dir = mkdtempSync(join(tmpdir(), "cert-id-"));
  try {
    const config = join(dir, "openssl.cnf");
    writeFileSync(config, ["[req]", "distinguished_name = dn", "prompt = no", "[dn]", "CN = unused", "[ca]", "basicConstraints = critical,CA:TRUE", "subjectKeyIdentifier = hash", "[leaf]", aki ? "authorityKeyIdentifier = keyid" : "authorityKeyIdentifier = none", "subjectAltName = DNS:example.com", ""].join("\n"));
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    const run = (argv: string[]) => {
      const result = Bun.spawnSync(["openssl", ...argv], { cwd: dir, stderr: "pipe", stdout: "pipe" });
      if (result.exitCode !== 0) throw new Error(`openssl ${argv.join(" ")}: ${result.stderr}`);
      return result.stdout.toString();
    };
    run(["req", "-x509", "-config", config, "-extensions", "ca", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=Example CA"]);
    run(["req", "-new", "-config", config, ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=example.com"]);
    run(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", serial, "-days", "1", "-extfile", config, "-extensions", "leaf", "-out", "leaf.pem"]);
    const text = run(["x509", "-in", "leaf.pem", "-noout", "-serial", "-ext", "authorityKeyIdentifier"]);
    return {
      pem: readFileSync(join(dir, "leaf.pem"), "utf8"),
      serialHex: /serial=([0-9A-F]+)/.exec(text)![1]!,
      aki: /([0-9A-F]{2}(?::[0-9A-F]{2})+)/.exec(text.split("\n").slice(1).join("\n"))?.[1]?.replace(/:/g, "") ?? "",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
