import { AcmeError } from "./acme-client.ts";

/**
 * One line telling the operator what to check when no certificate could be
 * obtained, from what the CA, the network or storage said. Logged beside the
 * reason, so that "ECONNREFUSED" comes with "check MCP_ACME_DIRECTORY".
 */
export function operatorHint(error: unknown): string {
  const type = error instanceof AcmeError ? error.type : undefined;
  const message = (error as Error)?.message ?? "";
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && ["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO"].includes(code))
    return "certificate storage failed (disk full, read-only, permissions or an I/O error): fix it; a certificate already issued is stored on the next retry, without a new order";
  // DNS-01: our own step failed (publishing, or waiting for, the TXT record), or the CA did not see the record.
  if (/^(DNS update|the DNS hook|the TXT record|could not find the (DNS zone|name servers))/.test(message))
    return "DNS-01 could not publish or see its TXT record: the reason says where; check MCP_DNS_SERVER and MCP_DNS_TSIG_KEY (or MCP_DNS_HOOK) and MCP_DNS_NAMESERVERS";
  if ((type === "unauthorized" || type === "dns") && /TXT|DNS challenge|dns-01/i.test(message))
    return "the CA did not find the TXT record: check that the zone is public and that MCP_DNS_NAMESERVERS (or the zone's NS records) are the servers the CA asks";
  if (type === "rateLimited") return "the CA's rate limit was hit; it will retry after the time the CA gave";
  // Before the challenge hint: an unknown EAB key id is `unauthorized` too, but DNS and port 80 have nothing to do with it.
  if (type === "externalAccountRequired") return "this CA needs external account binding: set MCP_ACME_EAB_KID and MCP_ACME_EAB_HMAC_KEY from the CA's account page";
  if ((type === "unauthorized" || type === "malformed") && /external\s*account|\beab\b|\bkid\b|key identifier|\bmac\b|hmac/i.test(`${(error as AcmeError).problem?.detail ?? ""} ${message}`))
    return "the CA refused the external account binding: check MCP_ACME_EAB_KID and MCP_ACME_EAB_HMAC_KEY (both from the CA's account page, for this CA's directory)";
  if (type === "connection" || type === "dns" || type === "unauthorized" || type === "incorrectResponse")
    return "the CA could not fetch the challenge: check that the domain's DNS points at this machine and that port 80 is open to the internet";
  // A CA that accepted the connection but did not answer is not a wrong directory URL.
  if (code === "ECONNABORTED" || /^no answer from the CA within the timeout/.test(message))
    return "the CA did not answer in time: it may be down or overloaded (check its status page); retrying with backoff";
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|timeout|certificate/i.test(message))
    return "the ACME directory could not be reached: check MCP_ACME_DIRECTORY, outbound HTTPS, and (for a private CA) NODE_EXTRA_CA_CERTS";
  return "see the reason above";
}
