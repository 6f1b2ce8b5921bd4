import type { CertificateStatus } from "../tls/maintain.ts";
import type { Metrics } from "./index.ts";

/**
 * Reads the renewal window of the certificate in service at every scrape,
 * labelled with its source (`ari` or `lifetime`), so that an alert can tell
 * a renewal the CA asked for from one the lifetime set. Only the current
 * source has a value: a switch from one to the other leaves no stale series.
 */
export function collectRenewalWindow(metrics: Metrics, certificate: () => CertificateStatus): void {
  metrics.registry.collect(() => {
    metrics.renewalWindowStart.reset();
    metrics.renewalWindowEnd.reset();
    const window = certificate().renewalWindow;
    if (!window) return;
    metrics.renewalWindowStart.set(Date.parse(window.start) / 1000, { source: window.source });
    metrics.renewalWindowEnd.set(Date.parse(window.end) / 1000, { source: window.source });
  });
}
