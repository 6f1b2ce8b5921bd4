import { expect, test } from "bun:test";
import { Registry } from "../../src/metrics/registry.ts";
import { parsePrometheus } from "../support/prometheus.ts";

test("renders valid Prometheus text with escaped labels and cumulative histogram buckets", () => {
  const registry = new Registry();
  const requests = registry.counter("app_requests_total", "Requests.");
  const open = registry.gauge("app_open", "Open things.");
  const latency = registry.histogram("app_latency_seconds", "Latency.", [0.01, 0.1]);
  requests.inc({ route: "/docs/*", status: "200" });
  requests.inc({ route: "/docs/*", status: "200" });
  requests.inc({ route: 'we"ird\\path\n', status: "404" });
  let collected = 0;
  registry.collect(() => open.set(++collected));
  for (const value of [0.005, 0.05, 0.5]) latency.observe(value);

  const samples = parsePrometheus(registry.render());
  expect(samples.find((s) => s.name === "app_requests_total" && s.labels.status === "200")?.value).toBe(2);
  expect(samples.find((s) => s.labels.route === 'we"ird\\path\n')?.value).toBe(1);
  expect(samples.find((s) => s.name === "app_open")?.value).toBe(1);
  const buckets = samples.filter((s) => s.name === "app_latency_seconds_bucket").map((s) => [s.labels.le, s.value]);
  expect(buckets).toEqual([["0.01", 1], ["0.1", 2], ["+Inf", 3]]);
  expect(samples.find((s) => s.name === "app_latency_seconds_count")?.value).toBe(3);
  // Collectors run at every scrape.
  registry.render();
  expect(collected).toBe(2);
});

test("the reader refuses what Prometheus would refuse", () => {
  expect(() => parsePrometheus("no_type 1\n")).toThrow("undeclared");
  expect(() => parsePrometheus("# TYPE a counter\na{x=unquoted} 1\n")).toThrow("not a valid");
  expect(() => parsePrometheus("# TYPE a counter\na 1")).toThrow("newline");
});
