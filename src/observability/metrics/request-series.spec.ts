import { Counter, Histogram, Registry } from 'prom-client';
import { RequestLabels, RequestSeries, requestSeriesKey } from './request-series';

const BOUNDS = [0.001, 0.01, 0.1, 1];

describe('RequestSeries', () => {
  const observations: Array<[RequestLabels, number]> = [
    [{ method: 'POST', route: '/v1/predict', status: '200', tenant: 't1', model: 'm', version: '1' }, 0.0004],
    [{ method: 'POST', route: '/v1/predict', status: '200', tenant: 't1', model: 'm', version: '1' }, 0.05],
    [{ method: 'POST', route: '/v1/predict', status: '200', tenant: 't1', model: 'm', version: '1' }, 7],
    [{ method: 'GET', route: '/v1/models/:name', status: '404', tenant: 'none', model: '', version: '' }, 0.001],
  ];

  it('writes the same Prometheus text as prom-client fed the same observations', async () => {
    const ours = new Registry();
    const series = new RequestSeries({ name: 'reqs_total', help: 'requests' }, { name: 'req_seconds', help: 'latency' }, BOUNDS);
    ours.registerMetric(series.counter as never);
    ours.registerMetric(series.histogram as never);
    const theirs = new Registry();
    const labelNames = ['method', 'route', 'status', 'tenant', 'model', 'version'];
    const counter = new Counter({ name: 'reqs_total', help: 'requests', labelNames, registers: [theirs] });
    const histogram = new Histogram({ name: 'req_seconds', help: 'latency', labelNames, buckets: BOUNDS, registers: [theirs] });
    for (const [labels, seconds] of observations) {
      series.observe(requestSeriesKey(labels), labels, seconds);
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('ends a label set in both metrics', async () => {
    const registry = new Registry();
    const series = new RequestSeries({ name: 'reqs_total', help: 'requests' }, { name: 'req_seconds', help: 'latency' }, BOUNDS);
    registry.registerMetric(series.counter as never);
    registry.registerMetric(series.histogram as never);
    for (const [labels, seconds] of observations) series.observe(requestSeriesKey(labels), labels, seconds);
    series.remove({ ...observations[0][0] });
    const text = await registry.metrics();
    expect(text).not.toContain('model="m"');
    expect(text).toContain('reqs_total{method="GET",route="/v1/models/:name",status="404",tenant="none",model="",version=""} 1');
  });
});
