import type { AuthContext } from '../auth/auth-context';
import { canAccessModel } from '../auth/model-scope';
import { DomainError } from '../common/domain-error';
import { pickSegmentMatch, SegmentCandidate } from '../serving/segment-match';
import type { RouteSpec } from './batch-job-spec';
import { BatchRepository } from './batch.repository';
import { NOT_AN_OBJECT } from './io/input-reader';
import { PinnedVersion } from './batch.types';
import { pinOf } from './output-columns';
import { BatchPredictor } from './predictor/batch-predictor';

/** Who a job's lookups run as: its submitter, with the submitter's model scope. */
export function jobAuth(job: { tenantId: string; principal: string; modelScope: string[] | null }): AuthContext {
  return { tenantId: job.tenantId, role: 'publisher', principal: job.principal, keyId: null, via: 'key', modelScope: job.modelScope };
}

export type RouteResolution = { pin: PinnedVersion } | { error: string };

/**
 * Why the rows of a route key that names nothing fail, row by row: a line that is not a JSON
 * object, or a row without a model name or any segment value. Null for a key that names a
 * model or segment (its rows are found by that value).
 */
export function rowReasonOfUnnamedRoute(key: string, route: RouteSpec): string | null {
  if (key.includes(NOT_AN_OBJECT)) return 'the line is not a JSON object';
  if (route.by === 'model') return key ? null : `the row has no model name in '${route.column}'`;
  const values = JSON.parse(key) as Array<string | null>;
  return values.every((v) => v === null || v === '') ? `the row has no value in '${route.columns.join("', '")}'` : null;
}

/**
 * Resolves a job's route keys (model names, or segment values as a JSON array) to the version
 * serving would pick now. Segment routes are matched in memory against the tenant's segmented
 * models, read in one query (a job has up to thousands of routes; one lookup each would cost
 * more than reading them all), with serving's own rule (pickSegmentMatch). With `route.tags`
 * only models carrying all the tags are candidates.
 */
export class RouteResolver {
  private readonly targets = new Map<string, { name: string } | { error: string }>();
  private readonly versions = new Map<string, Promise<RouteResolution>>();

  private constructor(
    private readonly predictor: BatchPredictor,
    private readonly ctx: AuthContext,
    private readonly route: RouteSpec,
    /** Segment routes: the candidates; model routes with tags: the names carrying them. */
    private readonly candidates: SegmentCandidate[] | null,
    private readonly tagged: Set<string> | null,
  ) {}

  static async prepare(repository: BatchRepository, predictor: BatchPredictor, ctx: AuthContext, route: RouteSpec, keys: readonly string[]): Promise<RouteResolver> {
    const tags = route.tags ?? {};
    if (route.by === 'segment') {
      const candidates = (await repository.segmentedModels(ctx.tenantId, tags)).filter((c) => canAccessModel(ctx, c.name));
      return new RouteResolver(predictor, ctx, route, candidates, null);
    }
    // Out of the key's model scope counts as not tagged: the job learns nothing about such models.
    const tagged = Object.keys(tags).length ? new Set((await repository.modelsTagged(ctx.tenantId, tags, keys)).filter((name) => canAccessModel(ctx, name))) : null;
    return new RouteResolver(predictor, ctx, route, null, tagged);
  }

  /** Reads the models these routes lead to in one query, so that resolve() then answers from memory. */
  async prime(keys: readonly string[]): Promise<void> {
    const names = new Set<string>();
    for (const key of keys) {
      const target = this.modelFor(key);
      if ('name' in target) names.add(target.name);
    }
    await this.predictor.primeModels(this.ctx, [...names]);
  }

  /**
   * The version a route key's rows are scored with. One answer per model for the whole job:
   * keys met later in the input (a store whose region model an earlier store already led to)
   * get the version found first, even if the registry changed while planning read the input.
   */
  async resolve(key: string): Promise<RouteResolution> {
    const target = this.modelFor(key);
    if ('error' in target) return target;
    let resolution = this.versions.get(target.name);
    if (!resolution) {
      resolution = this.resolveModel(target.name);
      this.versions.set(target.name, resolution);
      // Only answers are kept: a lookup that failed for another reason (the database) is tried again.
      resolution.catch(() => this.versions.delete(target.name));
    }
    return resolution;
  }

  private async resolveModel(name: string): Promise<RouteResolution> {
    try {
      return { pin: pinOf(await this.predictor.resolve(this.ctx, { model: name })) };
    } catch (error) {
      if (error instanceof DomainError) return { error: `${error.code}: ${error.message}` };
      throw error;
    }
  }

  /** The model name a route key leads to (segments matched in memory), or why there is none. */
  private modelFor(key: string): { name: string } | { error: string } {
    let target = this.targets.get(key);
    if (!target) {
      target = this.matchModel(key);
      this.targets.set(key, target);
    }
    return target;
  }

  private matchModel(key: string): { name: string } | { error: string } {
    if (key.includes(NOT_AN_OBJECT)) return { error: 'INVALID_INPUT_LINE: the lines are not JSON objects (JSONL takes one object per line)' };
    if (this.route.by === 'model') {
      if (!key) return { error: 'MODEL_NOT_FOUND: the rows have no model name' };
      if (this.tagged && !this.tagged.has(key)) return { error: `MODEL_NOT_FOUND: no model '${key}' tagged ${this.describeTags()}` };
      return { name: key };
    }
    const values = JSON.parse(key) as Array<string | null>;
    const segment: Record<string, string> = {};
    this.route.columns.forEach((c, i) => {
      if (values[i] !== null && values[i] !== '') segment[c] = values[i]!;
    });
    if (!Object.keys(segment).length) return { error: 'NO_MODEL_FOR_SEGMENT: the rows have no segment values' };
    const best = pickSegmentMatch(segment, this.candidates!);
    if (!best) {
      const among = this.route.tags && Object.keys(this.route.tags).length ? ` among the models tagged ${this.describeTags()}` : '';
      return { error: `NO_MODEL_FOR_SEGMENT: No model's segment matches ${JSON.stringify(segment)}${among}` };
    }
    return { name: best.name };
  }

  private describeTags(): string {
    return Object.entries(this.route.tags ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  }
}
