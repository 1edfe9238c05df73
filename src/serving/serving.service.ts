import { Injectable, Logger } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';
import { errorBody, ErrorBody } from '../common/error-body';
import { AppConfig } from '../config/app-config';
import { MirroredExecutor, MirroredRun, routingOf } from './mirrored-executor.service';
import { ModelResolver } from './model-resolver.service';
import { asObject, given, parseFanoutRequest, parseModelName, parsePredictRequest, parseSelector } from './predict-request';
import { InferenceRuntime } from './runtime/inference-runtime';
import type { CacheEntryView } from './cache-views';
import { SessionCache } from './session-cache';
import { invalidRequest } from './serving.error';
import { decodeInputs } from './tensor-codec';
import { isBigAnswer, isBigAnswerSize, outputsByName, PredictAnswerParts, predictAnswer, valuesOf } from './answer-body';
import type { ParsedPredict } from './runtime/json-codec-protocol';
import type { ServableVersion } from './servable';
import { LargeJsonBody } from './large-json-body';
import type { RouteAnswer } from './route-answer';
import { JsonCodec, toError } from './runtime/json-codec';
import { isSampledPredictionId } from '../observability/feedback/prediction-id';
import { PredictionLogWriter } from '../observability/feedback/prediction-log.writer';

export interface PredictResult {
  model: string;
  version: number;
  outputs: Record<string, unknown>;
  predictionId: string;
}

/** A PredictResult already encoded as JSON (big answers, encoded off the HTTP thread). */
export interface EncodedPredictResult {
  model: string;
  version: number;
  predictionId: string;
  payload: Buffer;
}

/**
 * A prediction's outputs before its answer is built (and its id issued), with the routing key it
 * was asked with (the body's `key`, else the header's) for the prediction log.
 */
type RoutedPrediction = Omit<PredictAnswerParts, 'predictionId'> & { routingKey?: string; shadow?: MirroredRun['shadow'] };

@Injectable()
export class ServingService {
  private readonly logger = new Logger('Serving');

  constructor(
    private readonly resolver: ModelResolver,
    private readonly executor: MirroredExecutor,
    private readonly sessions: SessionCache,
    private readonly runtime: InferenceRuntime,
    private readonly config: AppConfig,
    private readonly codec: JsonCodec,
    private readonly predictionLog: PredictionLogWriter,
  ) {}

  /**
   * POST /v1/predict: resolve (from memory once warm), check inputs, run, shape the outputs. A
   * big answer (a model whose outputs dwarf its inputs) comes encoded by the JSON codec thread.
   */
  async predict(ctx: AuthContext, body: unknown, routingKey?: string): Promise<PredictResult | EncodedPredictResult> {
    return this.predictAnswerOf(ctx, await this.runPredict(ctx, body, routingKey));
  }

  /**
   * POST /v1/predict with a big body (see LargeJsonBody): the same steps, but the JSON is parsed
   * and the inputs decoded in the JSON codec thread, and a big answer is encoded there too, so
   * the HTTP thread stays free for the small requests beside it. Same answers, same errors.
   */
  async predictLarge(ctx: AuthContext, body: LargeJsonBody, routingKey?: string): Promise<PredictResult | EncodedPredictResult> {
    const parsed = await this.codec.parse('predict', body.bytes, routingKey);
    body.model = parsed.selector.model;
    return this.predictAnswerOf(ctx, await this.predictFromCodec(ctx, parsed, (version) => (body.model = version.model)));
  }

  /** A parsed body: resolve, decode, run. */
  private async runPredict(ctx: AuthContext, body: unknown, routingKey?: string): Promise<RoutedPrediction> {
    const request = parsePredictRequest(body, routingKey);
    const version = await this.resolver.resolve(ctx, request.selector);
    const feeds = decodeInputs(version.signature.inputs, request.inputs);
    const { outputs, shadow } = await this.executor.runMirrored(ctx, version, feeds, routingOf(request.selector));
    return { model: version.model, version: version.version, outputs, routingKey: request.selector.routingKey, shadow };
  }

  /** The answer to a prediction: built here (and logged if sampled), or, when big, encoded by the JSON codec thread. */
  private predictAnswerOf(ctx: AuthContext, result: RoutedPrediction): PredictResult | Promise<EncodedPredictResult> {
    const values = valuesOf(result.outputs);
    return isBigAnswerSize(values) ? this.encodePrediction(result, values) : this.answerLogged(ctx, result, values);
  }

  /** The answer built here, with its id; logged if sampled. */
  private answerLogged(ctx: AuthContext, { routingKey, model, version, outputs, shadow }: RoutedPrediction, values = valuesOf(outputs)): PredictResult {
    return this.logged(ctx, predictAnswer({ model, version, outputs, predictionId: this.predictionLog.issueIdFor(values) }), routingKey, shadow);
  }

  private async encodePrediction({ model, version, outputs }: RoutedPrediction, values: number): Promise<EncodedPredictResult> {
    // Answers this big are not logged (too big for the prediction log): their id says so.
    const predictionId = this.predictionLog.issueIdFor(values);
    return { model, version, predictionId, payload: await this.codec.encode({ route: 'predict', model, version, outputs, predictionId }) };
  }

  /**
   * Hands an answer to the prediction log, which keeps it if its id was issued as sampled: here,
   * where the id is issued and the routing key known, whatever encodes or sends the answer.
   */
  private logged(ctx: AuthContext, answer: PredictResult, routingKey: string | undefined, shadow: RoutedPrediction['shadow']): PredictResult {
    this.predictionLog.record({ id: answer.predictionId, tenantId: ctx.tenantId, model: answer.model, version: answer.version, routingKey: routingKey ?? null, predicted: answer.outputs });
    if (shadow && isSampledPredictionId(answer.predictionId)) {
      // What the shadow answers is logged beside it, for the actual to score both.
      void shadow.then((s) => s && this.predictionLog.recordShadow(answer.predictionId, { tenantId: ctx.tenantId, model: answer.model, version: s.version, predicted: outputsByName(s.outputs) }));
    }
    return answer;
  }

  /** A body the codec thread parsed: resolve, decode there, run. */
  private async predictFromCodec(ctx: AuthContext, parsed: ParsedPredict, resolved?: (version: ServableVersion) => void): Promise<RoutedPrediction> {
    const version = await this.codec.releasingOnError(parsed.token, () => this.resolver.resolve(ctx, parsed.selector));
    resolved?.(version);
    const { tensors } = await this.codec.decode('predict', parsed.token, version.signature.inputs);
    const { outputs, shadow } = await this.executor.runMirrored(ctx, version, tensors, routingOf(parsed.selector));
    return { model: version.model, version: version.version, outputs, routingKey: parsed.selector.routingKey, shadow };
  }

  /**
   * POST /v1/predict/fanout: every item runs concurrently (same-model items micro-batch); a
   * failed item is an error in its slot. A big body (LargeJsonBody) is read off the HTTP thread.
   */
  fanout(ctx: AuthContext, body: unknown, routingKey?: string): Promise<RouteAnswer> {
    return body instanceof LargeJsonBody ? this.fanoutLarge(ctx, body, routingKey) : this.fanoutBody(ctx, body, routingKey);
  }

  private async fanoutBody(ctx: AuthContext, body: unknown, routingKey?: string): Promise<RouteAnswer> {
    const items = parseFanoutRequest(body);
    return this.fanoutAnswerOf(ctx, await Promise.all(items.map((item, i) => this.fanoutSlot(() => this.runPredict(ctx, asObject(item, `requests[${i}]`), routingKey)))));
  }

  /**
   * POST /v1/predict/fanout with a big body: each item parsed and decoded in the JSON codec
   * thread, as predictLarge does for one; a big answer is encoded there too. The items' routing
   * keys go on the body for the prediction log, as it reads them from a parsed one.
   */
  private async fanoutLarge(ctx: AuthContext, body: LargeJsonBody, routingKey?: string): Promise<RouteAnswer> {
    const parsed = await this.codec.parse('fanout', body.bytes, routingKey);
    return this.fanoutAnswerOf(ctx, await Promise.all(parsed.items.map((item) => this.fanoutSlot(() => ('error' in item ? Promise.reject(toError(item.error)) : this.predictFromCodec(ctx, item))))));
  }

  /** The fanout's answer: built here, or, when its slots hold a big answer in all, encoded by the JSON codec thread; its items logged each by its own size. */
  private async fanoutAnswerOf(ctx: AuthContext, slots: Array<RoutedPrediction | ErrorBody>): Promise<RouteAnswer> {
    if (!isBigAnswer(slots.flatMap((slot) => ('error' in slot ? [] : slot.outputs)))) {
      return { body: { results: slots.map((slot) => ('error' in slot ? slot : this.answerLogged(ctx, slot))) } };
    }
    const results = slots.map((slot) => ('error' in slot ? slot : this.encodedFanoutItem(ctx, slot)));
    return { payload: await this.codec.encode({ route: 'fanout', results }) };
  }

  /** An item of a fanout answer the JSON codec thread encodes, with its id; built here only when the log samples it (1,024 values at most). */
  private encodedFanoutItem(ctx: AuthContext, { routingKey, shadow, ...item }: RoutedPrediction): PredictAnswerParts {
    const predictionId = this.predictionLog.issueIdFor(valuesOf(item.outputs));
    if (isSampledPredictionId(predictionId)) this.logged(ctx, predictAnswer({ ...item, predictionId }), routingKey, shadow);
    return { ...item, predictionId };
  }

  /** A fanout item's answer, or the error in its slot. */
  private async fanoutSlot<T>(run: () => Promise<T>): Promise<T | ErrorBody> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DomainError) return errorBody(error.code, error.message, error.details);
      this.logger.error(`fanout item failed: ${(error as Error).stack ?? String(error)}`);
      return errorBody('INTERNAL', 'Internal server error');
    }
  }

  /** POST /v1/models/{name}/load: prewarm a version (default rule unless version/alias given); pin or unpin it. */
  async loadModel(ctx: AuthContext, name: string, body: unknown): Promise<CacheEntryView> {
    const options = optionalObject(body);
    const { pin: sent, ...rest } = options;
    // null is "not given", as for every optional field.
    const pin = given(sent) ? sent : undefined;
    if (pin !== undefined && typeof pin !== 'boolean') throw invalidRequest('pin must be true or false', { field: 'pin' });
    rejectUnknown(rest, ['version', 'alias']);
    // Before resolving: a delete that lands meanwhile (its notice may trail the resolution) drops what this loads.
    const mark = this.sessions.deletionMark();
    const model = await this.resolver.resolveModel(ctx, parseModelName(name));
    const version = this.resolver.selectVersion(model, parseSelector(rest, { requireTarget: false }));
    return this.sessions.load(version, { pin: pin as boolean | undefined, mark });
  }

  /** POST /v1/models/{name}/unload: one version (version/alias) or every loaded version of the model. */
  async unloadModel(ctx: AuthContext, name: string, body: unknown): Promise<{ model: string; unloaded: number[] }> {
    const options = optionalObject(body);
    rejectUnknown(options, ['version', 'alias']);
    const model = await this.resolver.resolveModel(ctx, parseModelName(name));
    const selector = parseSelector(options, { requireTarget: false });
    const version = selector.version !== undefined || selector.alias !== undefined ? this.resolver.selectVersion(model, selector).version : undefined;
    return { model: model.name, unloaded: this.sessions.unload(ctx.tenantId, model.name, version) };
  }

  /** GET /v1/cache: the caller's tenant's sessions; the root credential sees every tenant's. */
  cache(ctx: AuthContext) {
    const all = ctx.role === 'root';
    const snapshot = this.sessions.snapshot(all ? null : ctx.tenantId);
    return {
      scope: all ? 'all' : 'tenant',
      limits: { maxBytes: this.config.MMS_CACHE_MAX_BYTES, maxModels: this.config.MMS_CACHE_MAX_MODELS, ...(all ? {} : { share: this.sessions.shareOf(ctx.tenantId) }) },
      ...(all ? { usage: this.sessions.usage(), workers: this.runtime.workers() } : {}),
      loaded: snapshot.models.filter((m) => m.state === 'ready').length,
      bytes: snapshot.bytes,
      pinned: snapshot.pinned,
      ...snapshot.totals,
      models: all ? snapshot.models : snapshot.models.map(({ tenantId: _tenant, ...rest }) => rest),
    };
  }
}

function optionalObject(body: unknown): Record<string, unknown> {
  return body === undefined || body === null || body === '' ? {} : asObject(body, 'The request body');
}

function rejectUnknown(obj: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) throw invalidRequest(`Unknown field '${key}'`, { field: key });
}
