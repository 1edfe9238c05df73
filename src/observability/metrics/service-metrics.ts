import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { HOOK_METRICS, modelLoadHook } from './hook-metrics';
import { ModelSeries } from './model-series';
import { RequestSeries, requestSeriesKey } from './request-series';
import { OTHER, TopModelLabels } from './top-model-labels';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One finished HTTP request, as the request observer saw it. */
export interface RequestObservation {
  tenantId: string | null;
  method: string;
  /** The route template (`/v1/models/:name`), never the raw URL. */
  route: string;
  status: number;
  model?: string;
  version?: string;
  seconds: number;
}

/** Per-prediction error sums of one feedback item (see feedback-math.ts). */
export interface FeedbackObservation {
  values: number;
  absError: number;
  ape: number;
  apeValues: number;
}

/**
 * Read at scrape time from the modules that own the figures (all optional: a module that is
 * absent, or not finished booting, simply contributes nothing). Structural types, so this
 * file depends on no other module.
 */
export interface ScrapeSources {
  cache?: {
    usage(): { bytes: number; models: number; pinnedBytes: number; pinnedModels: number; loading?: { bytes: number }; waitingLoads?: number };
    snapshot(tenantId: string | null): {
      models: Array<{ tenantId: string; model: string; version: number; state: string; sizeBytes: number | null; loadMs: number | null; loadedAt: string | null }>;
      totals: { hits: number; misses: number; loads: number; loadFailures: number; evictions: number };
    };
    readonly options: { maxBytes: number; maxModels: number };
  };
  workers?: () => Array<{ worker: number; models: number; bytes: number; pending: number; restarts: number }>;
  mirrors?: () => Array<{ modelId: string; figures: { primaryVersion: number; shadowVersion: number; count: number; shadowErrors: number; meanAbsDiff: number | null; maxAbsDiff: number | null; p95RelDiff: number | null } }>;
  mirrorShed?: () => number;
  /** Tenant and name of models by id (mirror figures are kept by model id). */
  modelsById?: (ids: string[]) => Promise<Map<string, { tenantId: string; name: string }>>;
  health?: () => Promise<Record<string, boolean>>;
  predictionLogBuffered?: () => number;
  /** Whether other replicas' registry changes reach this process now (see RegistryChangeFeed). */
  registryNotifications?: () => boolean;
}

export interface ServiceMetricsOptions {
  /** Models with their own model/version label values (MMS_METRICS_MAX_MODELS). */
  maxModels: number;
  /** Process metrics (prom-client's defaults); off in unit tests that build many registries. */
  defaultMetrics?: boolean;
  windowMs?: number;
  now?: () => number;
}

/**
 * Every metric the service exposes, in one registry. Request and feedback metrics are fed as
 * things happen; cache, worker, mirror and health figures are read from their owners at
 * scrape time (`render`). Per-model labels go through one shared top-N (TopModelLabels), so
 * the number of series stays bounded at any number of models.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly models: TopModelLabels;
  private sources: ScrapeSources = {};
  private readonly modelNames = new Map<string, { tenantId: string; name: string }>();
  private loadWatermark = 0;
  private readonly loadsSeenAtWatermark = new Set<string>();

  private readonly http: RequestSeries;
  private readonly requestSeries: ModelSeries;
  private readonly labelledModels: Gauge<string>;

  private readonly cacheCounters: Record<'hits' | 'misses' | 'loads' | 'loadFailures' | 'evictions', Counter<string>>;
  private readonly cacheGauges: Record<'bytes' | 'models' | 'pinnedBytes' | 'pinnedModels' | 'loading' | 'loadingBytes' | 'waitingLoads' | 'failed' | 'limitBytes' | 'limitModels', Gauge<string>>;
  private readonly cacheTenantBytes: Gauge<string>;
  private readonly cacheTenantModels: Gauge<string>;
  private readonly modelLoadSeconds = modelLoadHook.histogram;

  private readonly workerQueue: Gauge<string>;
  private readonly workerModels: Gauge<string>;
  private readonly workerBytes: Gauge<string>;
  private readonly workerRestarts: Counter<string>;

  private readonly mirrorRequests: Counter<string>;
  private readonly mirrorErrors: Counter<string>;
  private readonly mirrorMeanAbs: Gauge<string>;
  private readonly mirrorMaxAbs: Gauge<string>;
  private readonly mirrorP95Rel: Gauge<string>;
  private readonly mirrorShed: Counter<string>;

  private readonly healthUp: Gauge<string>;
  private readonly notificationsUp: Gauge<string>;

  private readonly logWritten: Counter<string>;
  private readonly logDropped: Counter<string>;
  private readonly logSkipped: Counter<string>;
  private readonly logFlushFailures: Counter<string>;
  private readonly logBuffered: Gauge<string>;

  private readonly feedbackItems: Counter<string>;
  private readonly feedbackValues: Counter<string>;
  private readonly feedbackAbsError: Counter<string>;
  private readonly feedbackApe: Counter<string>;
  private readonly feedbackApeValues: Counter<string>;
  private readonly feedbackSeries: ModelSeries;

  constructor(options: ServiceMetricsOptions) {
    const registers = [this.registry];
    this.models = new TopModelLabels({ maxModels: options.maxModels, windowMs: options.windowMs, now: options.now });
    this.http = new RequestSeries(
      { name: 'mms_http_requests_total', help: 'HTTP requests by tenant (id), route template, status, and model/version (top-N models; the rest under model="other")' },
      { name: 'mms_http_request_duration_seconds', help: 'HTTP request latency, same labels as mms_http_requests_total' },
      LATENCY_BUCKETS,
    );
    this.registry.registerMetric(this.http.counter as never);
    this.registry.registerMetric(this.http.histogram as never);
    this.requestSeries = new ModelSeries(this.models, [this.http]);
    new Gauge({ name: 'mms_metrics_model_label_limit', help: 'Models that may have their own model label (MMS_METRICS_MAX_MODELS)', registers }).set(options.maxModels);
    this.labelledModels = new Gauge({ name: 'mms_metrics_labelled_models', help: 'Models that have their own model label right now', registers });

    const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });
    this.cacheCounters = {
      hits: counter('mms_cache_hits_total', 'Session cache hits (the model was loaded)'),
      misses: counter('mms_cache_misses_total', 'Session cache misses (the request waited for a load)'),
      loads: counter('mms_cache_loads_total', 'Sessions loaded'),
      loadFailures: counter('mms_cache_load_failures_total', 'Session loads that failed'),
      evictions: counter('mms_cache_evictions_total', 'Sessions evicted to stay within the cache bounds'),
    };
    this.cacheGauges = {
      bytes: gauge('mms_cache_bytes', 'Estimated bytes of the sessions held'),
      models: gauge('mms_cache_models', 'Sessions (model versions) held'),
      pinnedBytes: gauge('mms_cache_pinned_bytes', 'Estimated bytes of pinned sessions'),
      pinnedModels: gauge('mms_cache_pinned_models', 'Pinned sessions'),
      loading: gauge('mms_cache_loading_models', 'Sessions being loaded now (including loads waiting for room)'),
      loadingBytes: gauge('mms_cache_loading_bytes', 'Estimated bytes of the loads under way (their room in the cache, taken before they start)'),
      waitingLoads: gauge('mms_cache_loads_waiting', 'Loads waiting for loads under way to finish before they fit in the cache'),
      failed: gauge('mms_cache_failed_models', 'Model versions whose last load failed (waiting for a retry)'),
      limitBytes: gauge('mms_cache_limit_bytes', 'MMS_CACHE_MAX_BYTES'),
      limitModels: gauge('mms_cache_limit_models', 'MMS_CACHE_MAX_MODELS'),
    };
    this.cacheTenantBytes = gauge('mms_cache_tenant_bytes', 'Estimated bytes of the sessions held, by tenant', ['tenant']);
    this.cacheTenantModels = gauge('mms_cache_tenant_models', 'Sessions held, by tenant', ['tenant']);

    this.workerQueue = gauge('mms_worker_queue_depth', 'Runtime calls sent to an inference worker and not yet answered', ['worker']);
    this.workerModels = gauge('mms_worker_models', 'Sessions held by an inference worker', ['worker']);
    this.workerBytes = gauge('mms_worker_bytes', 'Estimated session bytes held by an inference worker', ['worker']);
    this.workerRestarts = counter('mms_worker_restarts_total', 'Inference worker restarts (after a crash)', ['worker']);

    const mirrorLabels = ['tenant', 'model', 'primary_version', 'shadow_version'];
    this.mirrorRequests = counter('mms_mirror_requests_total', 'Mirrored (shadow) calls compared with the primary answer', mirrorLabels);
    this.mirrorErrors = counter('mms_mirror_shadow_errors_total', 'Mirrored calls whose shadow version failed', mirrorLabels);
    this.mirrorMeanAbs = gauge('mms_mirror_mean_abs_diff', 'Mean absolute difference between shadow and primary outputs', mirrorLabels);
    this.mirrorMaxAbs = gauge('mms_mirror_max_abs_diff', 'Largest absolute difference between shadow and primary outputs', mirrorLabels);
    this.mirrorP95Rel = gauge('mms_mirror_p95_rel_diff', 'p95 relative difference over the latest 2,048 values (top-N models only)', mirrorLabels);
    this.mirrorShed = counter('mms_mirror_shed_total', 'Mirrored calls dropped unrun: too many in flight, or no idle moment on their worker within 2 s');

    this.healthUp = gauge('mms_health_check_up', 'Readiness checks: 1 passing, 0 failing (database, migrations, modelStore)', ['check']);
    this.notificationsUp = gauge(
      'mms_registry_notifications_up',
      "1 while other replicas' registry changes reach this process at once (LISTEN, or the embedded database's single process); 0 while that connection is down and what it serves is re-read every 5 s",
    );
    new Gauge({ name: 'mms_build_info', help: 'Service version', labelNames: ['version'], registers }).set({ version: serviceVersion() }, 1);

    this.logWritten = counter('mms_prediction_log_written_total', 'Predictions written to the prediction log');
    this.logDropped = counter('mms_prediction_log_dropped_total', 'Sampled predictions not logged, by reason (buffer_full | too_large | write_failed)', ['reason']);
    this.logSkipped = counter('mms_prediction_log_skipped_total', 'Predictions not logged because the per-second budget (MMS_PREDICTION_LOG_MAX_PER_SECOND) was used up');
    this.logFlushFailures = counter('mms_prediction_log_flush_failures_total', 'Failed attempts to write a batch of the prediction log (retried)');
    this.logBuffered = gauge('mms_prediction_log_buffered', 'Predictions waiting in memory to be written to the prediction log');

    this.feedbackItems = counter('mms_feedback_items_total', 'Feedback items received, by outcome (recorded | not_found | invalid)', ['tenant', 'outcome']);
    const feedbackLabels = ['tenant', 'model', 'version'];
    this.feedbackValues = counter('mms_feedback_values_total', 'Predicted values compared with an actual', feedbackLabels);
    this.feedbackAbsError = counter('mms_feedback_abs_error_total', 'Sum of |predicted - actual| (MAE = increase of this / increase of mms_feedback_values_total)', feedbackLabels);
    this.feedbackApe = counter('mms_feedback_ape_total', 'Sum of |predicted - actual| / |actual| over non-zero actuals', feedbackLabels);
    this.feedbackApeValues = counter('mms_feedback_ape_values_total', 'Values with a non-zero actual (the MAPE denominator)', feedbackLabels);
    this.feedbackSeries = new ModelSeries(this.models, [this.feedbackValues, this.feedbackAbsError, this.feedbackApe, this.feedbackApeValues]);

    for (const metric of HOOK_METRICS) this.registry.registerMetric(metric);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where scrape-time figures come from (set once the application has booted). */
  attach(sources: ScrapeSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** Hot path: about a microsecond per request (see RequestSeries). */
  observeRequest(o: RequestObservation): void {
    const tenant = o.tenantId ?? 'none';
    const given = o.version && /^\d{1,9}$/.test(o.version) ? o.version : undefined;
    const { model, version, key } = this.requestSeries.resolve(tenant, o.model, given);
    const labels = { method: o.method, route: o.route, status: String(o.status), tenant, model, version };
    const id = requestSeriesKey(labels);
    this.http.observe(id, labels, o.seconds);
    if (key) this.requestSeries.track(key, labels, id);
  }

  observeFeedback(tenantId: string, modelName: string, modelVersion: number, figures: FeedbackObservation): void {
    const { model, version, key } = this.feedbackSeries.resolve(tenantId, modelName, String(modelVersion), false);
    const labels = { tenant: tenantId, model, version };
    if (key) this.feedbackSeries.track(key, labels);
    this.feedbackValues.inc(labels, figures.values);
    this.feedbackAbsError.inc(labels, figures.absError);
    this.feedbackApe.inc(labels, figures.ape);
    this.feedbackApeValues.inc(labels, figures.apeValues);
  }

  feedbackItem(tenantId: string, outcome: 'recorded' | 'not_found' | 'invalid'): void {
    this.feedbackItems.inc({ tenant: tenantId, outcome });
  }

  predictionLogWritten(rows: number): void {
    this.logWritten.inc(rows);
  }

  predictionLogDropped(reason: 'buffer_full' | 'too_large' | 'write_failed', rows = 1): void {
    this.logDropped.inc({ reason }, rows);
  }

  /** Hot path (every prediction beyond the budget): an unlabelled counter, no label hashing. */
  predictionLogSkipped(): void {
    this.logSkipped.inc();
  }

  predictionLogFlushFailed(): void {
    this.logFlushFailures.inc();
  }

  /** The Prometheus text of every metric, scrape-time figures refreshed first. */
  async render(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Every series name the registry can expose (histograms as _bucket, _sum and _count), so
   * that alert rules and dashboards can be checked against it.
   */
  exposedNames(): Set<string> {
    const names = new Set<string>();
    for (const metric of this.registry.getMetricsAsArray() as unknown[]) {
      const name = (metric as { name: string }).name;
      const type = (metric as { type?: string }).type;
      if (metric instanceof Histogram || type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      else if (metric instanceof Summary) for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
      else names.add(name);
    }
    return names;
  }

  private async refresh(): Promise<void> {
    this.labelledModels.set(this.models.size);
    this.refreshCache();
    this.refreshWorkers();
    await Promise.all([this.refreshMirrors().catch(() => undefined), this.refreshHealth().catch(() => undefined)]);
    const buffered = this.sources.predictionLogBuffered?.();
    if (buffered !== undefined) this.logBuffered.set(buffered);
    const notifications = this.sources.registryNotifications?.();
    if (notifications !== undefined) this.notificationsUp.set(notifications ? 1 : 0);
  }

  private refreshCache(): void {
    const cache = this.sources.cache;
    if (!cache) return;
    const usage = cache.usage();
    const snapshot = cache.snapshot(null);
    setCounter(this.cacheCounters.hits, snapshot.totals.hits);
    setCounter(this.cacheCounters.misses, snapshot.totals.misses);
    setCounter(this.cacheCounters.loads, snapshot.totals.loads);
    setCounter(this.cacheCounters.loadFailures, snapshot.totals.loadFailures);
    setCounter(this.cacheCounters.evictions, snapshot.totals.evictions);
    this.cacheGauges.bytes.set(usage.bytes);
    this.cacheGauges.models.set(usage.models);
    this.cacheGauges.pinnedBytes.set(usage.pinnedBytes);
    this.cacheGauges.pinnedModels.set(usage.pinnedModels);
    this.cacheGauges.waitingLoads.set(usage.waitingLoads ?? 0);
    this.cacheGauges.loadingBytes.set(usage.loading?.bytes ?? 0);
    this.cacheGauges.limitBytes.set(cache.options.maxBytes);
    this.cacheGauges.limitModels.set(cache.options.maxModels);
    const byTenant = new Map<string, { bytes: number; models: number }>();
    let loading = 0;
    let failed = 0;
    let newest = this.loadWatermark;
    for (const m of snapshot.models) {
      if (m.state === 'loading') loading++;
      if (m.state === 'failed') failed++;
      if (m.state !== 'ready' && m.state !== 'unloading') continue;
      const t = byTenant.get(m.tenantId) ?? { bytes: 0, models: 0 };
      t.bytes += m.sizeBytes ?? 0;
      t.models++;
      byTenant.set(m.tenantId, t);
      // Load times from what is resident, unless serving reports every load itself (the hook).
      if (!modelLoadHook.used && m.loadedAt && m.loadMs !== null) {
        const at = Date.parse(m.loadedAt);
        const id = `${m.tenantId}/${m.model}/${m.version}@${at}`;
        if (at > this.loadWatermark || (at === this.loadWatermark && !this.loadsSeenAtWatermark.has(id))) {
          this.modelLoadSeconds.observe(m.loadMs / 1000);
          if (at > newest) newest = at;
          if (at === this.loadWatermark) this.loadsSeenAtWatermark.add(id);
        }
      }
    }
    if (newest > this.loadWatermark) {
      this.loadWatermark = newest;
      this.loadsSeenAtWatermark.clear();
      for (const m of snapshot.models) if (m.loadedAt && Date.parse(m.loadedAt) === newest) this.loadsSeenAtWatermark.add(`${m.tenantId}/${m.model}/${m.version}@${newest}`);
    }
    this.cacheGauges.loading.set(loading);
    this.cacheGauges.failed.set(failed);
    this.cacheTenantBytes.reset();
    this.cacheTenantModels.reset();
    for (const [tenant, t] of byTenant) {
      this.cacheTenantBytes.set({ tenant }, t.bytes);
      this.cacheTenantModels.set({ tenant }, t.models);
    }
  }

  private refreshWorkers(): void {
    const workers = this.sources.workers?.();
    if (!workers) return;
    this.workerQueue.reset();
    this.workerModels.reset();
    this.workerBytes.reset();
    this.workerRestarts.reset();
    for (const w of workers) {
      const labels = { worker: String(w.worker) };
      this.workerQueue.set(labels, w.pending);
      this.workerModels.set(labels, w.models);
      this.workerBytes.set(labels, w.bytes);
      this.workerRestarts.inc(labels, w.restarts);
    }
  }

  private async refreshMirrors(): Promise<void> {
    const shed = this.sources.mirrorShed?.();
    if (shed !== undefined) setCounter(this.mirrorShed, shed);
    const pairs = this.sources.mirrors?.();
    if (!pairs) return;
    const unknown = [...new Set(pairs.map((p) => p.modelId))].filter((id) => !this.modelNames.has(id));
    if (unknown.length && this.sources.modelsById) {
      const found = await this.sources.modelsById(unknown).catch(() => new Map<string, { tenantId: string; name: string }>());
      if (this.modelNames.size + found.size > 100_000) this.modelNames.clear();
      for (const [id, model] of found) this.modelNames.set(id, model);
    }
    for (const metric of [this.mirrorRequests, this.mirrorErrors, this.mirrorMeanAbs, this.mirrorMaxAbs, this.mirrorP95Rel]) metric.reset();
    // Pairs of models outside the top N add up into one series per tenant.
    const others = new Map<string, { count: number; errors: number; weightedMean: number; meanCount: number; max: number | null }>();
    for (const { modelId, figures } of pairs) {
      const model = this.modelNames.get(modelId);
      const tenant = model?.tenantId ?? 'unknown';
      if (model && this.models.isMember(model.tenantId, model.name)) {
        const labels = { tenant, model: model.name, primary_version: String(figures.primaryVersion), shadow_version: String(figures.shadowVersion) };
        this.mirrorRequests.inc(labels, figures.count);
        this.mirrorErrors.inc(labels, figures.shadowErrors);
        if (figures.meanAbsDiff !== null) this.mirrorMeanAbs.set(labels, figures.meanAbsDiff);
        if (figures.maxAbsDiff !== null) this.mirrorMaxAbs.set(labels, figures.maxAbsDiff);
        if (figures.p95RelDiff !== null) this.mirrorP95Rel.set(labels, figures.p95RelDiff);
        continue;
      }
      const o = others.get(tenant) ?? { count: 0, errors: 0, weightedMean: 0, meanCount: 0, max: null };
      o.count += figures.count;
      o.errors += figures.shadowErrors;
      const compared = figures.count - figures.shadowErrors;
      if (figures.meanAbsDiff !== null && compared > 0) {
        o.weightedMean += figures.meanAbsDiff * compared;
        o.meanCount += compared;
      }
      if (figures.maxAbsDiff !== null) o.max = Math.max(o.max ?? 0, figures.maxAbsDiff);
      others.set(tenant, o);
    }
    for (const [tenant, o] of others) {
      const labels = { tenant, model: OTHER, primary_version: OTHER, shadow_version: OTHER };
      this.mirrorRequests.inc(labels, o.count);
      this.mirrorErrors.inc(labels, o.errors);
      if (o.meanCount > 0) this.mirrorMeanAbs.set(labels, o.weightedMean / o.meanCount);
      if (o.max !== null) this.mirrorMaxAbs.set(labels, o.max);
    }
  }

  private async refreshHealth(): Promise<void> {
    const checks = await this.sources.health?.();
    if (!checks) return;
    for (const [check, up] of Object.entries(checks)) this.healthUp.set({ check }, up ? 1 : 0);
  }
}

/** A counter whose value is read from a cumulative figure kept elsewhere. */
function setCounter(counter: Counter<string>, value: number): void {
  counter.reset();
  if (value > 0) counter.inc(value);
}

/** package.json's version: three levels up from src/, four from dist/src/. */
function serviceVersion(): string {
  for (const candidate of ['../../../package.json', '../../../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'many-models-serving' && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}
