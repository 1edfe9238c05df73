import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../../auth/auth-context';
import { canAccessModel } from '../../auth/model-scope';
import { errorBody, ErrorBody } from '../../common/error-body';
import { MODEL_NAME } from '../../registry/names';
import { ServiceMetrics } from '../metrics/service-metrics';
import { ObservabilityError, ObservabilityErrorCode } from '../observability.error';
import { errorSums, ErrorSums, FeedbackShapeError, pairWithPrediction, qualityOf } from './feedback-math';
import { FeedbackItem, parseFeedbackBody, parseWindow } from './feedback-request';
import { FeedbackUpdate, LoggedPrediction, PredictionLogRepository } from './prediction-log.repository';
import { isSampledPredictionId } from './prediction-id';
import { PredictionLogWriter } from './prediction-log.writer';

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
    return {
      model: name,
      window: window.label,
      from: from.toISOString(),
      to: to.toISOString(),
      versions: rows.map((r) => ({
        version: r.version,
        count: r.count,
        values: r.sums.values,
        ...qualityOf(r.sums),
        firstFeedbackAt: r.firstFeedbackAt.toISOString(),
        lastFeedbackAt: r.lastFeedbackAt.toISOString(),
      })),
    };
  }

  private async apply(ctx: AuthContext, items: Array<FeedbackItem | ObservabilityError>): Promise<Array<FeedbackResult | ObservabilityError>> {
    const valid = items.filter((i): i is FeedbackItem => !(i instanceof ObservabilityError));
    const ids = valid.flatMap((i) => ('predictionId' in i.ref ? [i.ref.predictionId] : []));
    const keyed = valid.flatMap((i) => ('key' in i.ref && canAccessModel(ctx, i.ref.model) ? [i.ref] : []));
    // Feedback right after the prediction: make sure the log has it before looking.
    if (this.writer.isPending(ids) || (keyed.length && this.writer.buffered)) await this.writer.flush();
    const uuids = ids.filter((id) => UUID.test(id));
    const [byIdRows, byKeyRows] = await Promise.all([this.repository.findPredictionsByIds(ctx.tenantId, uuids), this.repository.findLatestPredictionsByKeys(ctx.tenantId, dedupe(keyed))]);
    const byId = new Map(byIdRows.map((r) => [r.id.toLowerCase(), r]));
    const byKey = new Map(byKeyRows.map((r) => [`${r.model}\u0000${r.routingKey}`, r]));

    const updates = new Map<string, FeedbackUpdate & { row: LoggedPrediction }>();
    const outcomes = items.map((item): FeedbackResult | ObservabilityError => {
      if (item instanceof ObservabilityError) {
        this.metrics.feedbackItem(ctx.tenantId, 'invalid');
        return item;
      }
      const row = 'predictionId' in item.ref ? byId.get(item.ref.predictionId.toLowerCase()) : byKey.get(`${item.ref.model}\u0000${item.ref.key}`);
      if (!row || !canAccessModel(ctx, row.model)) {
        this.metrics.feedbackItem(ctx.tenantId, 'not_found');
        return notFound(item);
      }
      let sums: ErrorSums;
      try {
        const paired = pairWithPrediction(row.predicted, item.actual);
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
    await this.repository.recordFeedback(ctx.tenantId, [...updates.values()]);
    for (const u of updates.values()) {
      this.metrics.feedbackItem(ctx.tenantId, 'recorded');
      this.metrics.observeFeedback(ctx.tenantId, u.row.model, u.row.version, u.sums);
    }
    return outcomes;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function dedupe(pairs: Array<{ model: string; key: string }>): Array<{ model: string; key: string }> {
  const seen = new Map(pairs.map((p) => [`${p.model}\u0000${p.key}`, p]));
  return [...seen.values()];
}

function notFound(item: FeedbackItem): ObservabilityError {
  if ('predictionId' in item.ref) {
    const id = item.ref.predictionId.slice(0, 64);
    // The id itself says whether the prediction was sampled into the log (prediction-id.ts).
    if (UUID.test(id) && !isSampledPredictionId(id.toLowerCase())) {
      return new ObservabilityError(
        ObservabilityErrorCode.PredictionNotFound,
        `Prediction ${id} was not sampled into the prediction log (MMS_PREDICTION_LOG_RATE, MMS_PREDICTION_LOG_MAX_PER_SECOND), so it cannot take feedback`,
        { predictionId: id, reason: 'not_sampled' },
      );
    }
    return new ObservabilityError(ObservabilityErrorCode.PredictionNotFound, `No logged prediction ${id}`, { predictionId: id, reason: 'not_found' });
  }
  return new ObservabilityError(ObservabilityErrorCode.PredictionNotFound, `No logged prediction of model '${item.ref.model}' with key '${item.ref.key.slice(0, 64)}'`, {
    model: item.ref.model,
    key: item.ref.key.slice(0, 64),
  });
}
