/**
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * written in the text exposition format (version 0.0.4). Enough for one
 * process's own metrics without a dependency.
 */

type Labels = Record<string, string>;

interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

export class Registry {
  readonly #metrics: Metric[] = [];
  readonly #collectors: (() => void)[] = [];

  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }

  /** Runs before each scrape: for values read from elsewhere (session counts, certificate expiry). */
  collect(callback: () => void): void {
    this.#collectors.push(callback);
  }

  /** The whole registry in Prometheus text format. */
  render(): string {
    for (const collect of this.#collectors) collect();
    const lines: string[] = [];
    for (const metric of this.#metrics) {
      lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`, ...metric.render());
    }
    return lines.join("\n") + "\n";
  }

  #add<T extends Metric>(metric: T): T {
    this.#metrics.push(metric);
    return metric;
  }
}

class Series {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();

  protected entry(labels: Labels) {
    // Counted on every request: a plain join is the key, and the escaped
    // Prometheus text is made only when rendered.
    let key = "";
    for (const name in labels) key += `${name}\u0001${labels[name]}\u0002`;
    let entry = this.values.get(key);
    if (!entry) this.values.set(key, (entry = { labels, value: 0 }));
    return entry;
  }
}

export class Counter extends Series implements Metric {
  readonly type = "counter";
  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    super();
  }
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }
  /** Mirrors a count kept elsewhere (it must only grow). */
  set(value: number, labels: Labels = {}): void {
    this.entry(labels).value = value;
  }
  render(): string[] {
    return [...this.values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${value}`);
  }
}

export class Gauge extends Series implements Metric {
  readonly type = "gauge";
  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    super();
  }
  set(value: number, labels: Labels = {}): void {
    this.entry(labels).value = value;
  }
  /** Forgets every labelled value (before a collector sets the current ones). */
  reset(): void {
    this.values.clear();
  }
  render(): string[] {
    return [...this.values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${value}`);
  }
}

export class Histogram implements Metric {
  readonly type = "histogram";
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {
    this.#counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.#counts[i]!++;
  }

  render(): string[] {
    return [
      ...this.buckets.map((bucket, i) => `${this.name}_bucket{le="${bucket}"} ${this.#counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.#count}`,
      `${this.name}_sum ${this.#sum}`,
      `${this.name}_count ${this.#count}`,
    ];
  }
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}
