/** Reads the Prometheus text format with a real parser, into `value(name, labels)` look-ups. */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface ParsedMetrics {
  /** The family's type (GAUGE, COUNTER), or undefined when it is absent. */
  type(name: string): string | undefined;
  /** The value of the one sample of `name` whose labels include `labels`, or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample of a family. */
  samples(name: string): Array<{ value: number; labels: Record<string, string> }>;
}

export function parseMetrics(text: string): ParsedMetrics {
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const samples = (name: string) =>
    (families.get(name)?.metrics ?? []).map((m) => ({
      value: Number(m.value),
      labels: m.labels ?? {},
    }));
  return {
    type: (name) => families.get(name)?.type,
    samples,
    value(name, labels = {}) {
      const hits = samples(name).filter((s) =>
        Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      if (hits.length > 1)
        throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
      return hits[0]?.value;
    },
  };
}
