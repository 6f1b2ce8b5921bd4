/**
 * A strict reader of the Prometheus text format (0.0.4): every line must be
 * a `# HELP`, a `# TYPE` or a sample of a declared metric, with valid names,
 * escaped label values and a number. Throws on the first bad line.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(`^(${NAME})(\\{(?:${LABEL})(?:,${LABEL})*\\})? ([-+]?(?:\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?|NaN|\\+Inf|-Inf))$`);

export function parsePrometheus(text: string): Sample[] {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) continue;
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (type) {
      if (types.has(type[1]!)) throw new Error(`metric ${type[1]} declared twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not a valid Prometheus line: ${JSON.stringify(line)}`);
    const name = sample[1]!;
    const base = name.replace(/_(bucket|sum|count)$/, "");
    const declared = types.get(name) ?? (types.get(base) === "histogram" ? "histogram" : undefined);
    if (!declared) throw new Error(`sample of undeclared metric: ${name}`);
    const labels: Record<string, string> = {};
    for (const match of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    samples.push({ name, labels, value: Number(sample[3]!.replace("+Inf", "Infinity").replace("-Inf", "-Infinity")) });
  }
  return samples;
}
