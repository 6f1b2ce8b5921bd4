/**
 * Baseline for certificate issuance: a bare acme-client script, compiled like
 * the product, placing the same order the product places (new ECDSA P-256
 * account key, HTTP-01 answered by its own `Bun.serve` on the ACME port, a
 * fresh ECDSA P-256 certificate key, finalize, download) with the product's
 * polling settings, then serving https with the certificate: POST /mcp gets
 * a canned `initialize` result, GET /healthz a small JSON object. No storage,
 * no locks, no checks.
 *
 * Environment:
 *   BENCH_DIRECTORY     ACME directory URL (trusted through NODE_EXTRA_CA_CERTS)
 *   BENCH_DOMAIN        the name to order
 *   BENCH_ACME_PORT     HTTP-01 port (what the CA validates against)
 *   BENCH_PORT          https port
 */
import acme from "acme-client";

const env = process.env;
const domain = env.BENCH_DOMAIN!;
const challenges = new Map<string, string>();
const PREFIX = "/.well-known/acme-challenge/";

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(env.BENCH_ACME_PORT),
  fetch(request) {
    const path = new URL(request.url).pathname;
    const answer = path.startsWith(PREFIX) ? challenges.get(path.slice(PREFIX.length)) : undefined;
    return answer ? new Response(answer) : new Response("not found\n", { status: 404 });
  },
});

const accountKey = await acme.crypto.createPrivateEcdsaKey("P-256");
// The product's polling: from 0.5 s up to 8 s between attempts.
const client = new acme.Client({ directoryUrl: env.BENCH_DIRECTORY!, accountKey, backoffMin: 500, backoffMax: 8_000, backoffAttempts: 19 });
await client.createAccount({ termsOfServiceAgreed: true });
const order = await client.createOrder({ identifiers: [{ type: "dns", value: domain }] });
for (const authz of await client.getAuthorizations(order)) {
  if (authz.status === "valid") continue;
  const challenge = authz.challenges.find((c) => c.type === "http-01")!;
  challenges.set(challenge.token, await client.getChallengeKeyAuthorization(challenge));
  await client.completeChallenge(challenge);
  await client.waitForValidStatus(challenge);
}
const key = await acme.crypto.createPrivateEcdsaKey("P-256");
const [, csr] = await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, key);
const finalized = await client.finalizeOrder(order, csr);
const cert = await client.getCertificate(finalized);

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(env.BENCH_PORT),
  tls: { cert, key: key.toString() },
  async fetch(request) {
    if (request.method === "POST") {
      const message = (await request.json()) as { id?: number | string };
      return Response.json({
        jsonrpc: "2.0",
        id: message.id ?? null,
        result: { protocolVersion: "2025-11-25", capabilities: {}, serverInfo: { name: "acme-order", version: "1.0.0" } },
      });
    }
    return Response.json({ status: "ok" });
  },
});
