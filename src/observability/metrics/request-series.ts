/**
 * The two per-request metrics, `mms_http_requests_total` (counter) and
 * `mms_http_request_duration_seconds` (histogram), kept in one map of plain records instead of
 * as prom-client metrics: prom-client hashes the label object (sorting and joining six label
 * values) once per metric on every call, which was most of the cost of metering a request.
 * Here a request costs one string key and one map lookup; the Prometheus text is produced at
 * scrape time through the registry, exactly as prom-client would write it.
 */

export type RequestLabels = { method: string; route: string; status: string; tenant: string; model: string; version: string };

interface Series {
  labels: RequestLabels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative), the last slot for those above every bound. */
  buckets: Float64Array;
}

interface MetricValue {
  labels: Record<string, string | number>;
  /** Written after `labels` (the registry caches their text per object): buckets put `le` first, as prom-client does. */
  sharedLabels?: Record<string, string>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry needs of a metric (`registerMetric`, `metrics()`, `resetMetrics()`). */
export interface CollectableMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  reset(): void;
}

/** The key of a label set: its values in a fixed order (label values never contain \u0001 in practice; if one did, two series would merely share a record). */
export function requestSeriesKey(l: RequestLabels): string {
  return `${l.tenant}\u0001${l.method}\u0001${l.route}\u0001${l.status}\u0001${l.model}\u0001${l.version}`;
}

export class RequestSeries {
  readonly counter: CollectableMetric;
  readonly histogram: CollectableMetric;
  private readonly series = new Map<string, Series>();

  constructor(
    counter: { name: string; help: string },
    histogram: { name: string; help: string },
    private readonly bounds: readonly number[],
  ) {
    this.counter = this.collectable(counter.name, counter.help, 'counter', () => [...this.series.values()].map((s) => ({ labels: s.labels, value: s.count })));
    this.histogram = this.collectable(histogram.name, histogram.help, 'histogram', () => this.histogramValues(histogram.name));
  }

  /** Hot path: one request with these labels took `seconds`. Answers whether the label set is new. */
  observe(key: string, labels: RequestLabels, seconds: number): boolean {
    let s = this.series.get(key);
    const created = s === undefined;
    if (!s) this.series.set(key, (s = { labels, count: 0, sum: 0, buckets: new Float64Array(this.bounds.length + 1) }));
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    s.buckets[i]++;
    return created;
  }

  /** Ends a label set's series in both metrics (the same call as prom-client's `remove(labels)`). */
  remove(labels: Record<string, string>): void {
    this.series.delete(requestSeriesKey(labels as RequestLabels));
  }

  private histogramValues(name: string): MetricValue[] {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.buckets[i];
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    return values;
  }

  private collectable(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): CollectableMetric {
    return {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }),
      reset: () => this.series.clear(),
    };
  }
}
