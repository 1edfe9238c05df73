import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context';
import { canAccessModel } from '../../auth/model-scope';
import { errorBody, ErrorBody } from '../../common/error-body';
import { MODEL_NAME } from '../../registry/names';
import { ServiceMetrics } from '../metrics/service-metrics';
import { ObservabilityError, ObservabilityErrorCode } from '../observability.error';
import { errorSums, ErrorSums, FeedbackShapeError, pairWithPrediction, qualityOf } from './feedback-math';
import { FeedbackItem, parseFeedbackBody, parseWindow } from './feedback-request';
import { FeedbackUpdate, LoggedPrediction, PredictionLogRepository, VersionQualityRow } from './prediction-log.repository';
import { isSampledPredictionId, sampledPredictionTime } from './prediction-id';
import { FLUSH_EVERY_MS, PredictionLogWriter } from './prediction-log.writer';
import { isUuid } from '../../common/uuid';

export interface FeedbackResult {
  predictionId: string;
  model: string;
  version: number;
  /** Values compared (an actual of null is not known yet and is skipped). */
  values: number;
  mae: number | null;
  mape: number | null;
  bias: number | null;
}

/**
 * Actuals for logged predictions, and the forecast quality they add up to. Everything is
 * scoped to the caller's tenant (and a scorer key's model globs): another tenant's prediction
 * answers exactly like a missing one.
 */
@Injectable()
export class FeedbackService {
  constructor(
    private readonly repository: PredictionLogRepository,
    private readonly writer: PredictionLogWriter,
    private readonly metrics: ServiceMetrics,
  ) {}

  /** POST /v1/feedback: one item answers its result (or its error status); a list answers a result or error per slot. */
  async recordFeedback(ctx: AuthContext, body: unknown): Promise<FeedbackResult | { recorded: number; failed: number; results: Array<FeedbackResult | ErrorBody> }> {
    const { batch, items } = parseFeedbackBody(body);
    const outcomes = await this.apply(ctx, items);
    if (!batch) {
      const [outcome] = outcomes;
      if (outcome instanceof ObservabilityError) throw outcome;
      return outcome;
    }
    const results = outcomes.map((o) => (o instanceof ObservabilityError ? errorBody(o.code, o.message, o.details) : o));
    const recorded = outcomes.filter((o) => !(o instanceof ObservabilityError)).length;
    return { recorded, failed: outcomes.length - recorded, results };
  }

  /** GET /v1/models/{name}/quality: error figures per version over the predictions whose actual arrived in the window. */
  async modelQuality(ctx: AuthContext, name: string, query: Record<string, unknown>) {
    for (const key of Object.keys(query)) {
      if (key !== 'window') throw new ObservabilityError(ObservabilityErrorCode.InvalidRequest, `Unknown query parameter '${key}' (quality takes window)`, { field: key });
    }
    const window = parseWindow(query.window);
    if (!MODEL_NAME.test(name) || !canAccessModel(ctx, name) || !(await this.repository.modelExists(ctx.tenantId, name))) {
      throw new ObservabilityError(ObservabilityErrorCode.ModelNotFound, `Model '${name.slice(0, 140)}' not found`, { name: name.slice(0, 140) });
    }
    const to = new Date();
    const from = new Date(to.getTime() - window.ms);
    const rows = await this.repository.sumQualityByVersion(ctx.tenantId, name, from);
    const figures = (r: VersionQualityRow) => ({
      version: r.version,
      count: r.count,
      values: r.sums.values,
      ...qualityOf(r.sums),
      firstFeedbackAt: r.firstFeedbackAt.toISOString(),
      lastFeedbackAt: r.lastFeedbackAt.toISOString(),
    });
    return {
      model: name,
      window: window.label,
      from: from.toISOString(),
      to: to.toISOString(),
      versions: rows.filter((r) => !r.mirrored).map(figures),
      // What shadow versions answered to mirrored requests, scored by the same actuals: how a version would have done before it serves.
      mirrored: rows.filter((r) => r.mirrored).map(figures),
    };
  }

  private async apply(ctx: AuthContext, items: Array<FeedbackItem | ObservabilityError>): Promise<Array<FeedbackResult | ObservabilityError>> {
    const valid = items.filter((i): i is FeedbackItem => !(i instanceof ObservabilityError));
    const ids = valid.flatMap((i) => ('predictionId' in i.ref ? [i.ref.predictionId] : []));
    const keyed = valid.flatMap((i) => ('key' in i.ref && canAccessModel(ctx, i.ref.model) ? [i.ref] : []));
    // Feedback right after the prediction: make sure the log has it before looking.
    if (this.writer.isPending(ids) || (keyed.length && this.writer.buffered)) await this.writer.flush();
    const uuids = [...new Set(ids.filter((id) => isUuid(id)).map((id) => id.toLowerCase()))];
    const pairs = dedupe(keyed);
    const [byIdRows, byKeyRows] = await Promise.all([this.repository.findPredictionsByIds(ctx.tenantId, uuids), this.repository.findLatestPredictionsByKeys(ctx.tenantId, pairs)]);
    const byId = new Map(byIdRows.map((r) => [r.id.toLowerCase(), r]));
    const byKey = new Map(byKeyRows.map((r) => [keyOf(r.model, r.routingKey), r]));
    await this.awaitRowsFromOtherReplicas(ctx, uuids, byId);

    const updates = new Map<string, FeedbackUpdate & { row: LoggedPrediction }>();
    const outcomes = items.map((item): FeedbackResult | ObservabilityError => {
      if (item instanceof ObservabilityError) {
        this.metrics.feedbackItem(ctx.tenantId, 'invalid');
        return item;
      }
      const row = 'predictionId' in item.ref ? byId.get(item.ref.predictionId.toLowerCase()) : byKey.get(keyOf(item.ref.model, item.ref.key));
      if (!row || !canAccessModel(ctx, row.model)) {
        this.metrics.feedbackItem(ctx.tenantId, 'not_found');
        return notFound(item);
      }
      let sums: ErrorSums;
      try {
        const paired = pairWithPrediction(row.predicted, item.actual, row.firstOutput);
        sums = errorSums(paired.predicted, paired.actual);
      } catch (error) {
        if (!(error instanceof FeedbackShapeError)) throw error;
        this.metrics.feedbackItem(ctx.tenantId, 'invalid');
        return new ObservabilityError(ObservabilityErrorCode.InvalidFeedback, `The actual does not fit prediction ${row.id}: ${error.message}`, {
          predictionId: row.id,
          model: row.model,
          version: row.version,
        });
      }
      // The same prediction twice in one call: the later actual wins.
      updates.set(row.id, { id: row.id, actual: item.actual, sums, row });
      const figures = qualityOf(sums);
      return { predictionId: row.id, model: row.model, version: row.version, values: sums.values, mae: figures.mae, mape: figures.mape, bias: figures.bias };
    });
    const shadowUpdates = await this.scoreShadows(ctx, [...updates.values()]);
    await this.repository.recordFeedback(ctx.tenantId, [...updates.values(), ...shadowUpdates]);
    for (const u of updates.values()) {
      this.metrics.feedbackItem(ctx.tenantId, 'recorded');
      this.metrics.observeFeedback(ctx.tenantId, u.row.model, u.row.version, u.sums);
    }
    return outcomes;
  }

  /**
   * The same actuals score what the shadow version answered to those predictions (mirrored
   * requests), for quality's `mirrored` figures. A shadow whose outputs the actual does not fit
   * (it answers other outputs or shapes) is left unscored: the actual was checked against what the
   * client got, and the shadow never fails the feedback.
   */
  private async scoreShadows(ctx: AuthContext, updates: Array<FeedbackUpdate & { row: LoggedPrediction }>): Promise<FeedbackUpdate[]> {
    if (!updates.length) return [];
    const actualOf = new Map(updates.map((u) => [u.row.id.toLowerCase(), u.actual]));
    const shadows = await this.repository.findShadowsOf(ctx.tenantId, [...actualOf.keys()]);
    return shadows.flatMap((shadow) => {
      const actual = actualOf.get(shadow.shadowOf.toLowerCase());
      try {
        const paired = pairWithPrediction(shadow.predicted, actual, shadow.firstOutput);
        return [{ id: shadow.id, actual, sums: errorSums(paired.predicted, paired.actual) }];
      } catch (error) {
        if (error instanceof FeedbackShapeError) return [];
        throw error;
      }
    });
  }

  /**
   * Feedback may arrive (through a load balancer) at another replica than the one that made the
   * prediction, before that replica's next log flush: the row is then still on its way. A
   * missing id that may be in flight is looked for again until its row has had time to land
   * (LATE_ROW_MS after the time its UUIDv7 carries). Old, unsampled and unknown ids do not wait;
   * a list waits once, for all its ids together. Found rows are added to `byId`.
   *
   * A model and key carry no time: waiting on every one that finds nothing would hold up each
   * actual for a key never predicted or not sampled (common under the log's rate and budget), so
   * those answer at once and their 404 says a fresh prediction may still be on its way.
   */
  private async awaitRowsFromOtherReplicas(ctx: AuthContext, ids: string[], byId: Map<string, LoggedPrediction>): Promise<void> {
    const now = Date.now();
    const waitingIds = new Map<string, number>();
    for (const id of ids) {
      const madeAt = sampledPredictionTime(id);
      // An id from the future (clocks apart, or made up) waits no longer than one made now.
      const deadline = madeAt === null ? 0 : Math.min(madeAt, now) + LATE_ROW_MS;
      if (!byId.has(id) && deadline > now) waitingIds.set(id, deadline);
    }
    while (waitingIds.size) {
      const lastDeadline = Math.max(...waitingIds.values());
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(LATE_ROW_POLL_MS, lastDeadline - Date.now()))));
      for (const r of await this.repository.findPredictionsByIds(ctx.tenantId, [...waitingIds.keys()])) {
        byId.set(r.id.toLowerCase(), r);
        waitingIds.delete(r.id.toLowerCase());
      }
      // Each one had a last look after its deadline.
      const after = Date.now();
      for (const [id, deadline] of waitingIds) if (deadline <= after) waitingIds.delete(id);
    }
  }
}

/**
 * How long after a prediction its log row may still be on its way from the replica that made
 * it: one flush interval, plus room for the insert, a busy event loop and replicas' clocks a
 * little apart. While that replica cannot write (database away, backoff) rows come later.
 */
export const LATE_ROW_MS = FLUSH_EVERY_MS + 1500;
/** How often a missing row is looked for again while it may be on its way. */
const LATE_ROW_POLL_MS = 100;

function keyOf(model: string, key: string | null): string {
  return `${model}\u0000${key}`;
}


function dedupe(pairs: Array<{ model: string; key: string }>): Array<{ model: string; key: string }> {
  const seen = new Map(pairs.map((p) => [keyOf(p.model, p.key), p]));
  return [...seen.values()];
}

function notFound(item: FeedbackItem): ObservabilityError {
  if ('predictionId' in item.ref) {
    const id = item.ref.predictionId.slice(0, 64);
    // The id itself says whether the prediction was sampled into the log (prediction-id.ts).
    if (isUuid(id) && !isSampledPredictionId(id.toLowerCase())) {
      return new ObservabilityError(
        ObservabilityErrorCode.PredictionNotFound,
        `Prediction ${id} was not sampled into the prediction log (MMS_PREDICTION_LOG_RATE, MMS_PREDICTION_LOG_MAX_PER_SECOND; answers of more than 1,024 values are never logged), so it cannot take feedback`,
        { predictionId: id, reason: 'not_sampled' },
      );
    }
    return new ObservabilityError(ObservabilityErrorCode.PredictionNotFound, `No logged prediction ${id}`, { predictionId: id, reason: 'not_found' });
  }
  return new ObservabilityError(
    ObservabilityErrorCode.PredictionNotFound,
    `No logged prediction of model '${item.ref.model}' with key '${item.ref.key.slice(0, 64)}' (one made in the last seconds on another replica may not be logged yet: send its predictionId, or retry)`,
    { model: item.ref.model, key: item.ref.key.slice(0, 64) },
  );
}
