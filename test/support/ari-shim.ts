/**
 * ACME Renewal Information (RFC 9773) for a CA that has none: Pebble 2.4
 * behind the ACME proxy (acme-proxy.ts), whose directory gains a
 * `renewalInfo` URL (and, if asked, `meta.profiles`), and which answers
 * `GET <renewalInfo>/<CertID>` with the window the test chooses. Orders,
 * challenges and certificates stay Pebble's.
 *
 * The shim learns each certificate as the client downloads it and names it
 * by CertID computed with openssl (the AKI's key identifier and the DER
 * serial), not with the code under test. An unknown CertID gets 404.
 */
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pebbleListenerTls, startAcmeProxy, type AcmeProxy } from "./acme-proxy.ts";
import type { Pebble } from "./pebble.ts";

/** A certificate the shim has seen issued. */
export interface IssuedCertificate {
  certId: string;
  /** `performance.now()` when it was downloaded. */
  at: number;
  notBefore: number;
  notAfter: number;
}

/** What the shim answers for one certificate. */
export interface Suggestion {
  start: number;
  end: number;
  /** Seconds; none: no Retry-After header. */
  retryAfter?: number;
  explanationURL?: string;
}

export interface AriShimOptions {
  /** The window for a certificate (default: the last tenth of its lifetime but one, with Retry-After 1 s). */
  window?: (certificate: IssuedCertificate) => Suggestion;
  /** `meta.profiles` to advertise (Pebble 2.4 has none). */
  profiles?: Record<string, string>;
}

export interface AriShim extends AcmeProxy {
  /** Certificates downloaded through the shim, in order. */
  readonly issued: readonly IssuedCertificate[];
  /** CertIDs asked for at renewalInfo, in order. */
  readonly asked: readonly string[];
  /** Replaces the window function from now on. */
  setWindow(window: (certificate: IssuedCertificate) => Suggestion): void;
  /** What the orders Pebble accepted carried (identifiers, profile, replaces), in order; not attempts refused for a bad nonce. */
  orders(): { at: number; replaces?: string; profile?: string; identifiers?: unknown }[];
}

export async function startAriShim(pebble: Pebble, options: AriShimOptions = {}): Promise<AriShim> {
  const issued: IssuedCertificate[] = [];
  const asked: string[] = [];
  let window =
    options.window ??
    ((certificate: IssuedCertificate): Suggestion => {
      const lifetime = certificate.notAfter - certificate.notBefore;
      return { start: certificate.notBefore + lifetime * 0.8, end: certificate.notBefore + lifetime * 0.9, retryAfter: 1 };
    });
  const PATH = "/ari-shim/renewal-info/";
  const proxy = await startAcmeProxy({
    upstreamDirectoryUrl: pebble.directoryUrl,
    upstreamCa: pebble.caCertPem,
    tls: pebbleListenerTls(pebble),
    extension: {
      directory: (directory, origin) => ({
        ...directory,
        renewalInfo: `${origin}${PATH}`,
        ...(options.profiles ? { meta: { ...((directory.meta as object) ?? {}), profiles: options.profiles } } : {}),
      }),
      route(request, url) {
        if (!url.pathname.startsWith(PATH)) return undefined;
        const certId = url.pathname.slice(PATH.length);
        asked.push(certId);
        const certificate = issued.find((c) => c.certId === certId);
        if (!certificate || request.method !== "GET") return new Response("unknown certificate\n", { status: 404 });
        const { start, end, retryAfter, explanationURL } = window(certificate);
        return Response.json(
          { suggestedWindow: { start: new Date(start).toISOString(), end: new Date(end).toISOString() }, ...(explanationURL ? { explanationURL } : {}) },
          { headers: retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) } },
        );
      },
      observe(request, body) {
        if (request.resource !== "certificate" || !body.includes("BEGIN CERTIFICATE")) return;
        const leaf = body.slice(0, body.indexOf("-----END CERTIFICATE-----") + 25);
        const x509 = new X509Certificate(leaf);
        issued.push({ certId: opensslCertId(leaf), at: performance.now(), notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo) });
      },
    },
  });
  return Object.assign(proxy, {
    issued,
    asked,
    setWindow(next: (certificate: IssuedCertificate) => Suggestion) {
      window = next;
    },
    orders: () =>
      proxy
        .requestsFor("newOrder")
        .filter((request) => request.status === 201)
        .map((request) => ({ at: request.at, ...((request.payload ?? {}) as { replaces?: string; profile?: string }) })),
  });
}

/** RFC 9773's CertID from what openssl prints of the leaf: AKI key identifier and serial (sign byte added as DER has it). */
function opensslCertId(pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), "ari-shim-"));
  try {
    writeFileSync(join(dir, "leaf.pem"), pem);
    const result = Bun.spawnSync(["openssl", "x509", "-in", join(dir, "leaf.pem"), "-noout", "-serial", "-ext", "authorityKeyIdentifier"], { stdout: "pipe", stderr: "pipe" });
    const text = result.stdout.toString();
    let serial = /serial=([0-9A-F]+)/.exec(text)![1]!;
    if (serial.length % 2) serial = `0${serial}`;
    if (parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`;
    const aki = /([0-9A-F]{2}(?::[0-9A-F]{2})+)/.exec(text.split("\n").slice(1).join("\n"))![1]!.replace(/:/g, "");
    return `${Buffer.from(aki, "hex").toString("base64url")}.${Buffer.from(serial, "hex").toString("base64url")}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
