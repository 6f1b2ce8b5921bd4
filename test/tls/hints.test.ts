import { expect, test } from "bun:test";
import { AcmeError } from "../../src/tls/acme-client.ts";
import { operatorHint } from "../../src/tls/hints.ts";

// The one-line hints beside a failed order (src/tls/hints.ts), for the
// DNS-01 failures: they must not send an operator to check port 80.

test("DNS-01's own failures point at the DNS settings", () => {
  for (const message of [
    "DNS update (add _acme-challenge.docs.example.com TXT in zone docs.example.com at ns1:53) was refused: NOTAUTH",
    "the DNS hook (present _acme-challenge.docs.example.com) failed with exit status 1: no token",
    'the TXT record _acme-challenge.docs.example.com = "v" did not show at every authoritative server within 120 s (ns1:53: no such record yet)',
    "could not find the DNS zone of _acme-challenge.docs.example.com (asked 192.0.2.1:53: REFUSED); set MCP_DNS_ZONE",
  ]) {
    expect(operatorHint(new Error(message))).toContain("MCP_DNS_SERVER");
  }
});

test("a TXT record the CA did not find is not a port-80 problem", () => {
  const error = new AcmeError("Correct value not found for DNS challenge", { type: "urn:ietf:params:acme:error:unauthorized", detail: "Correct value not found for DNS challenge", status: 403, url: "" });
  expect(operatorHint(error)).toContain("the CA did not find the TXT record");
  const http = new AcmeError("Invalid response from http://docs.example.com/.well-known/acme-challenge/x: 404", { type: "urn:ietf:params:acme:error:unauthorized", detail: "404", status: 403, url: "" });
  expect(operatorHint(http)).toContain("port 80");
});
