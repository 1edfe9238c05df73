import { Injectable, Logger } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';
import { errorBody, ErrorBody } from '../common/error-body';
import { AppConfig } from '../config/app-config';
import { MirroredExecutor, routingOf } from './mirrored-executor.service';
import { ModelResolver } from './model-resolver.service';
import { asObject, given, parseFanoutRequest, parseModelName, parsePredictRequest, parseSelector } from './predict-request';
import { InferenceRuntime } from './runtime/inference-runtime';
import { CacheEntryView, SessionCache } from './session-cache';
import { invalidRequest } from './serving.error';
import { decodeInputs, toNested } from './tensor-codec';
import type { ServableVersion } from './servable';
import { LargeJsonBody } from './large-json-body';
import { JsonCodec } from './runtime/json-codec';
import { unsampledPredictionId } from '../observability/feedback/prediction-id';
import { PredictionLogWriter } from '../observability/feedback/prediction-log.writer';

export interface PredictResult {
  model: string;
  version: number;
  outputs: Record<string, unknown>;
  predictionId: string;
}

/** A PredictResult already encoded as JSON (big answers, encoded off the HTTP thread). */
export interface EncodedPredictResult {
  version: number;
  payload: Buffer;
}

/** Answers with more values than this are encoded in the JSON codec thread. */
const ENCODE_OFF_THREAD_VALUES = 16 * 1024;

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

  /** POST /v1/predict: resolve (from memory once warm), check inputs, run, shape the outputs. */
  async predict(ctx: AuthContext, body: unknown, routingKey?: string): Promise<PredictResult> {
    const request = parsePredictRequest(body, routingKey);
    const version = await this.resolver.resolve(ctx, request.selector);
    const feeds = decodeInputs(version.signature.inputs, request.inputs);
    const outputs = await this.executor.run(ctx, version, feeds, routingOf(request.selector));
    const byName: Record<string, unknown> = {};
    for (const t of outputs) byName[t.name] = toNested(t);
    return { model: version.model, version: version.version, outputs: byName, predictionId: this.predictionLog.issueId() };
  }

  /**
   * POST /v1/predict with a big body (see LargeJsonBody): the same steps, but the JSON is parsed
   * and the inputs decoded in the JSON codec thread, and a big answer is encoded there too, so
   * the HTTP thread stays free for the small requests beside it. Same answers, same errors.
   */
  async predictLarge(ctx: AuthContext, body: LargeJsonBody, routingKey?: string): Promise<PredictResult | EncodedPredictResult> {
    const parsed = await this.codec.parsePredict(body.bytes, routingKey);
    if ('parseHere' in parsed) return this.predict(ctx, body.parseHere(parsed.parseHere), routingKey);
    body.model = parsed.selector.model;
    let version: ServableVersion;
    try {
      version = await this.resolver.resolve(ctx, parsed.selector);
    } catch (error) {
      this.codec.release(parsed.token);
      throw error;
    }
    body.model = version.model;
    const feeds = await this.codec.decode(parsed.token, version.signature.inputs);
    const outputs = await this.executor.run(ctx, version, feeds, routingOf(parsed.selector));
    if (outputs.reduce((n, t) => n + t.data.length, 0) > ENCODE_OFF_THREAD_VALUES) {
      // Answers this big are not logged (too big for the prediction log): their id says so.
      const answer = { model: version.model, version: version.version, predictionId: unsampledPredictionId() };
      return { version: version.version, payload: await this.codec.encodeAnswer(answer, outputs) };
    }
    const answer = { model: version.model, version: version.version, predictionId: this.predictionLog.issueId() };
    const byName: Record<string, unknown> = {};
    for (const t of outputs) byName[t.name] = toNested(t);
    return { model: answer.model, version: answer.version, outputs: byName, predictionId: answer.predictionId };
  }

  /** POST /v1/predict/fanout: every item runs concurrently (same-model items micro-batch); a failed item is an error in its slot. */
  async fanout(ctx: AuthContext, body: unknown, routingKey?: string): Promise<{ results: Array<PredictResult | ErrorBody> }> {
    const items = parseFanoutRequest(body);
    const results = await Promise.all(items.map((item, i) => this.fanoutSlot(ctx, item, i, routingKey)));
    return { results };
  }

  private async fanoutSlot(ctx: AuthContext, item: unknown, index: number, routingKey?: string): Promise<PredictResult | ErrorBody> {
    try {
      return await this.predict(ctx, asObject(item, `requests[${index}]`), routingKey);
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
      limits: { maxBytes: this.config.MMS_CACHE_MAX_BYTES, maxModels: this.config.MMS_CACHE_MAX_MODELS },
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
