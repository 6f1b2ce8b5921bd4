import { Registry } from "./registry.ts";

export { Registry } from "./registry.ts";

/**
 * The server's metrics, one registry per server. Parts that produce events
 * (requests, searches, renewals) get the instruments; values that live
 * elsewhere (open sessions, certificate expiry) are read at scrape time.
 */
export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    requests: registry.counter("mcp_http_requests_total", "HTTP requests answered, by route and status."),
    searchQueries: registry.counter("mcp_search_queries_total", "Searches answered (the search tool), since start."),
    zeroResultQueries: registry.counter("mcp_search_zero_result_queries_total", "Searches that found no page, since start."),
    searchSeconds: registry.histogram("mcp_search_duration_seconds", "Time to answer one search, in seconds.", [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]),
    sessions: registry.gauge("mcp_sessions_open", "Open MCP sessions, by transport."),
    pages: registry.gauge("mcp_documents_indexed", "Documentation pages in the index."),
    sections: registry.gauge("mcp_sections_indexed", "Documentation sections in the index."),
    indexAge: registry.gauge("mcp_index_age_seconds", "Seconds since the index in service was built."),
    certificateNotAfter: registry.gauge("mcp_certificate_not_after_seconds", "Expiry of the certificate in service, as a Unix time, by domain."),
    renewalWindowStart: registry.gauge("mcp_certificate_renewal_window_start_seconds", "Start of the certificate's renewal window, as a Unix time, by source: ari (the CA's suggestion, RFC 9773) or lifetime (MCP_RENEW_RATIO)."),
    renewalWindowEnd: registry.gauge("mcp_certificate_renewal_window_end_seconds", "End of the certificate's renewal window, as a Unix time, by source."),
    renewals: registry.counter("mcp_certificate_renewals_total", "Certificate renewals since start."),
    renewalFailures: registry.counter("mcp_certificate_renewal_failures_total", "Failed certificate orders or renewals since start."),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
