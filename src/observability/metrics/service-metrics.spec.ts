import { MAX_VERSIONS_PER_MODEL } from './model-series';
import { ServiceMetrics } from './service-metrics';

/** Distinct values of one label among a metric's series in Prometheus text. */
function labelValues(text: string, metric: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const match = new RegExp(`[{,]${label}="([^"]*)"`).exec(line);
    if (match) values.add(match[1]);
  }
  return values;
}

function seriesCount(text: string, metric: string): number {
  return text.split('\n').filter((l) => l.startsWith(`${metric}{`)).length;
}

describe('ServiceMetrics', () => {
  let now: number;
  const make = (maxModels: number) => new ServiceMetrics({ maxModels, defaultMetrics: false, windowMs: 60_000, now: () => now });
  const predict = (m: ServiceMetrics, tenantId: string, model: string, version = '1', status = 200) =>
    m.observeRequest({ tenantId, method: 'POST', route: '/v1/predict', status, model, version, seconds: 0.004 });

  beforeEach(() => {
    now = 0;
  });

  it('keeps per-model series bounded: 150 models with N = 20 make at most 21 model label values', async () => {
    const m = make(20);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 150; i++) predict(m, `tenant-${i % 3}`, `demand-${i}`, String(1 + (i % 2)));
      now += 60_000;
    }
    const text = await m.render();
    const models = labelValues(text, 'mms_http_requests_total', 'model');
    expect(models.size).toBeLessThanOrEqual(21);
    expect(models.has('other')).toBe(true);
    expect(seriesCount(text, 'mms_http_request_duration_seconds_count')).toBe(seriesCount(text, 'mms_http_requests_total'));
  });

  it('counts a model outside the top N under model="other", version="other", per tenant', async () => {
    const m = make(1);
    predict(m, 't1', 'a', '3');
    predict(m, 't1', 'b', '7');
    predict(m, 't2', 'c', '1');
    const text = await m.render();
    expect(text).toContain('mms_http_requests_total{method="POST",route="/v1/predict",status="200",tenant="t1",model="a",version="3"} 1');
    expect(text).toContain('mms_http_requests_total{method="POST",route="/v1/predict",status="200",tenant="t1",model="other",version="other"} 1');
    expect(text).toContain('mms_http_requests_total{method="POST",route="/v1/predict",status="200",tenant="t2",model="other",version="other"} 1');
  });

  it('removes the series of a model that leaves the top N', async () => {
    const m = make(1);
    predict(m, 't', 'quiet');
    for (let i = 0; i < 10; i++) predict(m, 't', 'busy');
    now = 60_000;
    predict(m, 't', 'busy');
    const text = await m.render();
    // 'busy' counted under "other" until the window ended, then got the label 'quiet' held.
    expect(labelValues(text, 'mms_http_requests_total', 'model')).toEqual(new Set(['busy', 'other']));
    expect(text).not.toContain('model="quiet"');
  });

  it(`keeps at most ${MAX_VERSIONS_PER_MODEL} version label values per model, dropping the least recently seen`, async () => {
    const m = make(5);
    for (let v = 1; v <= MAX_VERSIONS_PER_MODEL + 3; v++) predict(m, 't', 'daily-retrain', String(v));
    const versions = labelValues(await m.render(), 'mms_http_requests_total', 'version');
    expect(versions.size).toBe(MAX_VERSIONS_PER_MODEL);
    expect(versions.has('1')).toBe(false);
    expect(versions.has(String(MAX_VERSIONS_PER_MODEL + 3))).toBe(true);
  });

  it('labels requests about no model with empty model and version, and strangers with tenant "none"', async () => {
    const m = make(5);
    m.observeRequest({ tenantId: null, method: 'GET', route: '/metrics', status: 401, seconds: 0.001 });
    m.observeRequest({ tenantId: 't', method: 'POST', route: '/v1/predict', status: 200, model: 'a', version: 'production', seconds: 0.001 });
    const text = await m.render();
    expect(text).toContain('mms_http_requests_total{method="GET",route="/metrics",status="401",tenant="none",model="",version=""} 1');
    expect(text).toContain('model="a",version=""} 1'); // only numbers are versions
  });

  it('reads cache, worker, mirror and health figures at scrape time, capping mirror pairs too', async () => {
    const m = make(1);
    predict(m, 't', 'labelled');
    m.attach({
      cache: {
        options: { maxBytes: 1000, maxModels: 10 },
        usage: () => ({ bytes: 300, models: 2, pinnedBytes: 100, pinnedModels: 1 }),
        snapshot: () => ({
          totals: { hits: 5, misses: 2, loads: 2, loadFailures: 1, evictions: 3 },
          models: [
            { tenantId: 't', model: 'labelled', version: 1, state: 'ready', sizeBytes: 200, loadMs: 12, loadedAt: new Date(1000).toISOString() },
            { tenantId: 'u', model: 'x', version: 1, state: 'ready', sizeBytes: 100, loadMs: 3, loadedAt: new Date(2000).toISOString() },
            { tenantId: 'u', model: 'y', version: 1, state: 'failed', sizeBytes: null, loadMs: null, loadedAt: null },
          ],
        }),
      },
      workers: () => [{ worker: 0, models: 2, bytes: 300, pending: 4, restarts: 1 }],
      mirrors: () => [
        { modelId: 'id-labelled', figures: { primaryVersion: 1, shadowVersion: 2, count: 10, shadowErrors: 1, meanAbsDiff: 0.5, maxAbsDiff: 2, p95RelDiff: 0.1 } },
        { modelId: 'id-x', figures: { primaryVersion: 1, shadowVersion: 2, count: 4, shadowErrors: 0, meanAbsDiff: 1, maxAbsDiff: 3, p95RelDiff: 0.2 } },
        { modelId: 'id-z', figures: { primaryVersion: 3, shadowVersion: 4, count: 4, shadowErrors: 0, meanAbsDiff: 2, maxAbsDiff: 5, p95RelDiff: 0.3 } },
      ],
      mirrorShed: () => 6,
      modelsById: async () =>
        new Map([
          ['id-labelled', { tenantId: 't', name: 'labelled' }],
          ['id-x', { tenantId: 'u', name: 'x' }],
          ['id-z', { tenantId: 'u', name: 'z' }],
        ]),
      health: async () => ({ database: false, migrations: true, modelStore: true }),
      predictionLogBuffered: () => 42,
    });
    const text = await m.render();
    for (const line of [
      'mms_cache_hits_total 5',
      'mms_cache_evictions_total 3',
      'mms_cache_load_failures_total 1',
      'mms_cache_bytes 300',
      'mms_cache_failed_models 1',
      'mms_cache_tenant_bytes{tenant="u"} 100',
      'mms_worker_queue_depth{worker="0"} 4',
      'mms_worker_restarts_total{worker="0"} 1',
      'mms_mirror_requests_total{tenant="t",model="labelled",primary_version="1",shadow_version="2"} 10',
      'mms_mirror_p95_rel_diff{tenant="t",model="labelled",primary_version="1",shadow_version="2"} 0.1',
      'mms_mirror_requests_total{tenant="u",model="other",primary_version="other",shadow_version="other"} 8',
      'mms_mirror_mean_abs_diff{tenant="u",model="other",primary_version="other",shadow_version="other"} 1.5',
      'mms_mirror_max_abs_diff{tenant="u",model="other",primary_version="other",shadow_version="other"} 5',
      'mms_mirror_shed_total 6',
      'mms_health_check_up{check="database"} 0',
      'mms_prediction_log_buffered 42',
      'mms_model_load_seconds_count 2',
    ]) {
      expect(text).toContain(line);
    }
    // A second scrape does not count the same loads again.
    expect(await m.render()).toContain('mms_model_load_seconds_count 2');
  });

  it('adds feedback errors up per model version, so Prometheus can derive MAE', async () => {
    const m = make(5);
    predict(m, 't', 'a');
    m.observeFeedback('t', 'a', 1, { values: 2, absError: 3, ape: 0.5, apeValues: 2 });
    m.observeFeedback('t', 'a', 1, { values: 1, absError: 1, ape: 0.1, apeValues: 1 });
    const text = await m.render();
    expect(text).toContain('mms_feedback_values_total{tenant="t",model="a",version="1"} 3');
    expect(text).toContain('mms_feedback_abs_error_total{tenant="t",model="a",version="1"} 4');
  });

  it('lists every exposed series name, histograms with their suffixes', () => {
    const names = new ServiceMetrics({ maxModels: 1, defaultMetrics: false }).exposedNames();
    expect(names.has('mms_http_requests_total')).toBe(true);
    expect(names.has('mms_http_request_duration_seconds_bucket')).toBe(true);
    expect(names.has('mms_batch_rows_total')).toBe(true);
    expect(names.has('mms_http_request_duration_seconds')).toBe(false);
  });
});
