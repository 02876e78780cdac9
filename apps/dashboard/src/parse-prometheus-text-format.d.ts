// The package ships no types; this is the prom2json-compatible shape it returns.
declare module 'parse-prometheus-text-format' {
  interface MetricFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: Array<{
      labels?: Record<string, string>;
      value?: string;
      count?: string;
      sum?: string;
      buckets?: Record<string, string>;
      quantiles?: Record<string, string>;
    }>;
  }
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
