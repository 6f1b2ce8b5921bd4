import { createHash } from "node:crypto";
import type { LibraryStatus } from "../../docs/library.ts";
import type { CertificateStatus } from "../../tls/maintain.ts";
import type { InsightsView } from "../../insights/index.ts";

/** What the page at `GET /` shows. Everything here is escaped on output. */
export interface StatusPageData {
  /** Origin clients reach this server at, such as `https://docs.example.com`. */
  origin: string;
  version: string;
  /** Whether `/healthz` would say "ok". */
  ready: boolean;
  library: LibraryStatus;
  /** Present only when serving HTTPS with a certificate of our own. */
  certificate?: CertificateStatus;
  /** What assistants asked (`MCP_INSIGHTS`); absent when off. */
  insights?: InsightsView;
  /** For tests: the clock relative times are measured against. */
  now?: Date;
}

/** Queries shown per list, and characters per query: the page stays small whatever was asked. */
const INSIGHT_ROWS = 5;
const INSIGHT_CHARS = 80;

// Copy buttons are the only thing that needs script. They start `hidden` and
// the script shows them, so without JS the page has no dead controls. The
// clipboard API exists only in secure contexts (https, localhost); a plain-HTTP
// LAN address falls back to execCommand, and failing that selects the text.
const SCRIPT = `for(const b of document.querySelectorAll("button[data-copy]")){b.hidden=false;b.onclick=async()=>{const t=b.dataset.copy;let ok=false;try{await navigator.clipboard.writeText(t);ok=true}catch{const a=document.createElement("textarea");a.value=t;document.body.append(a);a.select();try{ok=document.execCommand("copy")}catch{}a.remove()}if(!ok){getSelection().selectAllChildren(b.previousElementSibling);b.textContent="Press Ctrl+C";return}b.textContent="Copied";setTimeout(()=>b.textContent="Copy",1500)}}`;

const STYLE = `:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--mute:#5b6472;--line:#dfe3e8;--code:#f0f2f5;--acc:#2357d9;--ok:#1a7f37;--warn:#b35900}
@media(prefers-color-scheme:dark){:root{--bg:#0e1116;--card:#161b22;--fg:#e6edf3;--mute:#8d96a0;--line:#2d333b;--code:#0d1117;--acc:#6ea8fe;--ok:#3fb950;--warn:#e3a03f}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:760px;margin:0 auto;padding:32px 20px}h1{font-size:24px;margin:0 0 4px}h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--mute);margin:0 0 12px}h3{font-size:15px;margin:16px 0 4px}
p{margin:4px 0}.lead{color:var(--mute);margin-bottom:20px}a{color:var(--acc)}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin-bottom:16px}
.row{display:flex;align-items:center;gap:8px;margin:6px 0}.row>span{width:120px;flex:none;color:var(--mute);font-size:13px}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.row code,pre{flex:1;min-width:0;background:var(--code);border:1px solid var(--line);border-radius:6px;padding:6px 10px;overflow-x:auto;white-space:pre;margin:0}
button{font:inherit;font-size:13px;padding:5px 12px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg);cursor:pointer;flex:none;min-width:70px}
button:hover{border-color:var(--acc);color:var(--acc)}.pill{display:inline-block;font-size:12px;font-weight:600;padding:2px 10px;border-radius:99px;border:1px solid;vertical-align:middle;margin-left:8px}
.m{color:var(--mute);font-size:13px}.ok{color:var(--ok)}.warn{color:var(--warn)}dl{display:grid;grid-template-columns:150px 1fr;gap:6px 12px;margin:0}dt{color:var(--mute)}dd{margin:0;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;font-size:13px;margin-bottom:8px}td{padding:3px 0;border-top:1px solid var(--line);overflow-wrap:anywhere}td+td{text-align:right;width:60px}
footer{color:var(--mute);font-size:13px;text-align:center}footer>*{margin:0 6px}.b{align-items:flex-start}
@media(max-width:560px){main{padding:20px 12px}.row{flex-wrap:wrap}.row>span{width:100%}dl{grid-template-columns:1fr;gap:0}dd{margin-bottom:8px}}`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/**
 * The page's Content-Security-Policy. Computed once at module load from the
 * exact inline script and style, so nothing else can run or restyle the page
 * even if escaping were ever to fail.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers for the page: the status is live, so nothing may cache it. */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": STATUS_PAGE_CSP,
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

// An inline icon, so the browser does not ask for /favicon.ico (a 404).
const ICON = `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='4' fill='%232357d9'/%3E%3Cpath d='M4 5h8M4 8h8M4 11h5' stroke='white' stroke-width='1.6'/%3E%3C/svg%3E`;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML content and quoted attribute values alike. */
function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** "3 minutes ago", "in 12 days": coarse on purpose, a glance is all it is for. */
export function relativeTime(seconds: number): string {
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  const units: [string, number][] = [["day", 86_400], ["hour", 3_600], ["minute", 60]];
  const [unit, size] = units.find(([, size]) => abs >= size * 0.99) ?? units[2]!;
  const n = Math.max(1, Math.round(abs / size));
  const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

function when(iso: string | undefined, now: Date): string {
  if (!iso || Number.isNaN(Date.parse(iso))) return "—";
  const date = new Date(iso);
  const day = date.toISOString().slice(0, 10);
  return `${esc(day)} <span class="m">(${esc(relativeTime((now.getTime() - date.getTime()) / 1000))})</span>`;
}

/** A value with a copy button; the button copies exactly what is shown. */
function copyable(label: string, value: string, id?: string, block = false): string {
  const shown = block ? `<pre>${esc(value)}</pre>` : `<code${id ? ` id="${id}"` : ""}>${esc(value)}</code>`;
  return `<div class="row${block ? " b" : ""}">${label ? `<span>${esc(label)}</span>` : ""}${shown}<button type="button" hidden data-copy="${esc(value)}" aria-label="Copy ${esc(label || "command")}" aria-live="polite">Copy</button></div>`;
}

/**
 * The page a person sees when opening the server in a browser: what it
 * serves, the URLs to paste into an AI assistant, how for each client, and
 * live status. One self-contained document (no external assets) meant to be
 * sent with {@link STATUS_PAGE_HEADERS}. Every interpolated value is escaped:
 * titles and sources come from documentation and are treated as hostile.
 *
 * @example
 * app.get("/", (c) => c.html(statusPage({ origin, version, ready, library: library.status() }), 200, STATUS_PAGE_HEADERS));
 */
export function statusPage(data: StatusPageData): string {
  const { origin, library, certificate } = data;
  const now = data.now ?? new Date();
  const mcp = `${origin}/mcp`;
  const sse = `${origin}/sse`;
  const https = origin.startsWith("https:");
  const gemini = JSON.stringify({ mcpServers: { docs: { httpUrl: mcp } } }, null, 2);
  const age = library.indexAgeSeconds === undefined ? "not indexed yet" : relativeTime(library.indexAgeSeconds);

  const tls = certificate
    ? `<dt>TLS</dt><dd class="${certificate.ready ? "ok" : "warn"}">${certificate.ready ? "HTTPS, certificate in service" : "HTTPS, waiting for a certificate"}</dd>` +
      `<dt>Certificate for</dt><dd>${esc(certificate.names?.join(", ") || "—")}</dd>` +
      `<dt>Issuer</dt><dd>${esc(certificate.issuer ?? "—")}</dd>` +
      `<dt>Expires</dt><dd>${when(certificate.notAfter, now)}</dd>` +
      `<dt>Next renewal</dt><dd>${when(certificate.nextRenewalAt, now)}</dd>` +
      (certificate.lastError ? `<dt>Last error</dt><dd class="warn">${esc(certificate.lastError)}</dd>` : "")
    : `<dt>TLS</dt><dd>plain HTTP (local use)</dd>`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(library.title)} · MCP server</title><link rel="icon" href="${ICON}"><style>${STYLE}</style></head>
<body><main>
<h1>${esc(library.title)}<span class="pill ${data.ready ? "ok" : "warn"}">${data.ready ? "Ready" : "Starting"}</span></h1>
<p class="lead">This server serves ${esc(library.title)} to AI assistants over the Model Context Protocol (MCP).</p>
<section><h2>Connect</h2>
${copyable("Streamable HTTP", mcp, "mcp-url")}
${copyable("Legacy SSE", sse, "sse-url")}
<p class="m">Use the Streamable HTTP URL; the SSE one is for older clients.</p></section>
<section><h2>Clients</h2>
<h3>ChatGPT</h3><p>Settings → Connectors → Create, then paste the Streamable HTTP URL.${https ? "" : ` <span class="warn">ChatGPT needs an https URL: set <code>MCP_DOMAINS</code> to serve HTTPS.</span>`}</p>
<h3>Claude</h3><p>Settings → Connectors → Add custom connector, then paste the Streamable HTTP URL. In Claude Code:</p>
${copyable("", `claude mcp add --transport http docs ${mcp}`)}
<h3>Gemini CLI</h3><p>Add to <code>~/.gemini/settings.json</code>:</p>
${copyable("", gemini, undefined, true)}</section>
<section><h2>Status</h2><dl>
<dt>Documents indexed</dt><dd id="pages">${esc(library.pages)}</dd>
<dt>Sections</dt><dd id="sections">${esc(library.sections)}</dd>
<dt>Index updated</dt><dd>${esc(age)}</dd>
<dt>Source</dt><dd>${esc(library.source)}</dd>
${library.lastRefreshError ? `<dt>Last refresh</dt><dd class="warn">${esc(library.lastRefreshError)}</dd>` : ""}${tls}
</dl></section>
${data.insights ? insightsSection(data.insights) : ""}
<footer><a href="/llms.txt">llms.txt</a>·<a href="/llms-full.txt">llms-full.txt</a>·<a href="/healthz">healthz</a>·<span>mcp-server ${esc(data.version)}</span></footer>
</main><script>${SCRIPT}</script></body></html>
`;
}

/**
 * What assistants asked over the window: counts, and the queries enough
 * distinct clients asked (the rest is never shown, so no one's own question
 * is published).
 */
function insightsSection(view: InsightsView): string {
  const rows = (items: InsightsView["top"], id: string) =>
    items.length === 0
      ? `<p class="m" id="${id}">None asked by ${esc(view.minClients)} or more clients yet.</p>`
      : `<table id="${id}">${items
          .slice(0, INSIGHT_ROWS)
          .map((item) => `<tr><td>${esc(item.query.length > INSIGHT_CHARS ? `${item.query.slice(0, INSIGHT_CHARS - 1)}…` : item.query)}</td><td>${esc(item.count)}</td></tr>`)
          .join("")}</table>`;
  return `<section><h2>What assistants ask</h2><dl>
<dt>Searches (${esc(view.windowHours)} h)</dt><dd id="searches">${esc(view.queries)}</dd>
<dt>Found nothing</dt><dd id="zero-results">${esc(view.zeroResults)}</dd></dl>
<h3>Top queries</h3>${rows(view.top, "top-queries")}
<h3>Top queries that found nothing</h3>${rows(view.topZero, "top-zero")}
<p class="m">Only queries asked by at least ${esc(view.minClients)} different clients are listed; no addresses are kept.</p></section>`;
}

/**
 * Whether a request's `Accept` header prefers HTML to JSON, by q-value and
 * RFC 9110 specificity (`text/html` beats `text/*` beats `*\/*`). A tie goes
 * to JSON: `curl` and most programs send `*\/*` or nothing and keep getting
 * JSON, while browsers rank `text/html` above their `*\/*;q=0.8`.
 *
 * @example
 * wantsHtml("text/html,application/xhtml+xml,application/xml;q=0.9,*\/*;q=0.8"); // true
 * wantsHtml("*\/*"); // false
 */
export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(",").flatMap((part) => {
    const [range = "", ...params] = part.split(";").map((piece) => piece.trim().toLowerCase());
    const [type, subtype] = range.split("/");
    if (!type || !subtype) return [];
    const qParam = params.find((param) => param.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    // A malformed q-value makes the range meaningless; skip it rather than guess.
    return Number.isFinite(q) && q >= 0 && q <= 1 ? [{ type, subtype, q }] : [];
  });
  const quality = (type: string, subtype: string): number => {
    let best = { specificity: -1, q: 0 };
    for (const range of ranges) {
      const specificity =
        range.type === type && range.subtype === subtype ? 2 : range.type === type && range.subtype === "*" ? 1 : range.type === "*" && range.subtype === "*" ? 0 : -1;
      if (specificity < 0) continue;
      // The most specific range decides; among equals, the highest q.
      if (specificity > best.specificity || (specificity === best.specificity && range.q > best.q)) best = { specificity, q: range.q };
    }
    return best.q;
  };
  const html = quality("text", "html");
  return html > 0 && html > quality("application", "json");
}
