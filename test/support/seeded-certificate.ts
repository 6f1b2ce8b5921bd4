/**
 * A certificate store holding a self-signed certificate exactly as the
 * server's own store would after an order, so that a TLS deployment starts
 * serving at once, with no CA: for tests of what happens around the
 * certificate (port 80, limits, SIGHUP), and for load tests where nothing
 * verifies the chain. The certificate paths (issuance, renewal) run
 * against Pebble instead.
 */
import { X509Certificate } from "node:crypto";
import { FileStorage } from "../../src/storage/file-storage.ts";
import { selfSigned } from "./self-signed.ts";

/** Directory URL recorded with seeded certificates: nothing listens there, and nothing needs to. */
export const SEEDED_DIRECTORY = "https://127.0.0.1:9/acme/directory";

/** Stores a self-signed certificate for `domain` in `certsDir`; the server started with `MCP_ACME_DIRECTORY=directoryUrl` serves it. */
export async function storeSelfSigned(certsDir: string, domain: string, directoryUrl = SEEDED_DIRECTORY): Promise<{ certPem: string; serial: string }> {
  const { certPem, keyPem } = selfSigned([domain], { days: 30 });
  const now = new Date();
  await new FileStorage(certsDir).storeBundle(domain, {
    "cert.pem": { data: certPem },
    "key.pem": { data: keyPem, secret: true },
    "meta.json": {
      data: JSON.stringify({ directoryUrl, names: [domain], issuedAt: now.toISOString(), notAfter: new Date(now.getTime() + 29 * 86_400_000).toISOString(), keyType: "ecdsa" }),
    },
  });
  return { certPem, serial: new X509Certificate(certPem).serialNumber };
}
