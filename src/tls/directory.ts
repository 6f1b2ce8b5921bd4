/** Let's Encrypt's ACME directories, by the names `MCP_ACME_DIRECTORY` accepts. */
export const LETS_ENCRYPT = {
  production: "https://acme-v02.api.letsencrypt.org/directory",
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** The directory URL for a setting value: `production`, `staging` or a URL. */
export function directoryUrl(setting: string): string {
  return setting === "production" || setting === "staging" ? LETS_ENCRYPT[setting] : setting;
}

/**
 * A storage-safe name for a directory, so accounts are kept per CA: the host
 * for people reading the folder, and a hash so two directories on one host
 * (a private CA's staging and production) never share an account.
 */
export function directoryId(url: string): string {
  const host = new URL(url).host.replace(/[^A-Za-z0-9.-]/g, "_");
  const hash = new Bun.CryptoHasher("sha256").update(url).digest("hex").slice(0, 10);
  return `${host}-${hash}`;
}
