import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate made with openssl, for tests that only need a parseable one. */
export function selfSigned(names: string[], options: { days?: number; keyType?: "ec" | "rsa" } = {}): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), "mcp-cert-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const keyArgs = options.keyType === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    const result = Bun.spawnSync([
      "openssl", "req", "-x509", ...keyArgs, "-nodes", "-keyout", key, "-out", cert,
      "-days", String(options.days ?? 30), "-subj", `/CN=${names[0]}`,
      "-addext", `subjectAltName=${names.map((name) => `DNS:${name}`).join(",")}`,
    ], { stderr: "pipe" });
    if (result.exitCode !== 0) throw new Error(`openssl failed: ${result.stderr.toString()}`);
    return { certPem: readFileSync(cert, "utf8"), keyPem: readFileSync(key, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
