/**
 * A URL as it may be shown: in logs, `/healthz`, the status page, metrics,
 * error messages. Only the scheme, host and path: user info
 * (`https://user:password@…`) and the query string (`?token=…`) are where
 * people put secrets, so neither is ever shown. Text that is not a URL is
 * returned as it is.
 *
 * @example
 * displayUrl("https://u:p@docs.example.com/index.json?token=S"); // "https://docs.example.com/index.json"
 */
export function displayUrl(text: string): string {
  if (!URL.canParse(text)) return text;
  const url = new URL(text);
  if (!url.host) return text;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Removes every occurrence of `url`'s secret parts from `text`: the whole URL
 * (as given and as parsed) becomes its display form, and the user info and
 * each query value are cut wherever else they appear, for messages that came
 * from elsewhere (a fetch error quoting the URL it tried).
 */
export function withoutUrlSecrets(text: string, url: string): string {
  if (!URL.canParse(url)) return text;
  const parsed = new URL(url);
  let out = text.split(url).join(displayUrl(url)).split(parsed.href).join(displayUrl(url));
  const secrets = [parsed.password, parsed.username, ...[...parsed.searchParams.values()], parsed.search.slice(1)].filter((part) => part.length >= 3);
  for (const secret of secrets.sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join("[redacted]");
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join("[redacted]");
  }
  return out;
}
