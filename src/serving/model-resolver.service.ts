import { Injectable, Logger } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { canAccessModel } from '../auth/model-scope';
import type { Labels } from '../registry/entities/model.entity';
import type { RegistryChange } from '../registry/registry-events';
import type { ModelSelector } from './predict-request';
import { ResolutionCache } from './resolution-cache';
import { pickSegmentMatch, SegmentCandidate, segmentKey } from './segment-match';
import { ServableModel, ServableVersion, toServableModel } from './servable';
import { ServingError, ServingErrorCode } from './serving.error';
import { ServingRepository } from './serving.repository';
import { TrafficRouter } from './traffic-router';

/** Entries are re-read after this long even when change notifications flow (a safety net). */
const FRESH_WHILE_LISTENING_MS = 60_000;
/** Without notifications (embedded database, or the LISTEN connection is down). */
const FRESH_WITHOUT_NOTIFICATIONS_MS = 5_000;
/** A name or segment that matched nothing is not looked up again for this long. */
const NEGATIVE_MS = 2_000;
const MAX_ENTRIES = 100_000;

interface SegmentMatches {
  candidates: SegmentCandidate[];
}

/**
 * Turns a request's model name (or segment) and optional version or alias into a servable
 * version, from memory: models are cached with all their versions and aliases, invalidated by
 * registry changes (this process's directly, other replicas' through LISTEN/NOTIFY).
 *
 * Version rule: explicit version, else explicit alias, else the traffic rule, else alias
 * `production`, else the highest existing version.
 */
@Injectable()
export class ModelResolver {
  private readonly logger = new Logger('ModelResolver');
  /** Whether other replicas' registry changes reach us at once (set by RegistryChangeFeed; metrics: mms_registry_notifications_up). */
  private flowing = false;
  private readonly models: ResolutionCache<ServableModel>;
  private readonly segments: ResolutionCache<SegmentMatches>;

  constructor(
    private readonly repository: ServingRepository,
    private readonly traffic: TrafficRouter,
  ) {
    const options = {
      maxEntries: MAX_ENTRIES,
      freshMs: () => (this.flowing ? FRESH_WHILE_LISTENING_MS : FRESH_WITHOUT_NOTIFICATIONS_MS),
      negativeMs: NEGATIVE_MS,
      retryAfterErrorMs: 1_000,
      onBackgroundError: (error: unknown) => this.logger.warn(`background refresh failed: ${(error as Error).message}`),
    };
    this.models = new ResolutionCache(options);
    this.segments = new ResolutionCache(options);
  }

  async resolve(ctx: AuthContext, selector: ModelSelector): Promise<ServableVersion> {
    const name = selector.model ?? (await this.matchSegment(ctx, selector.segment!));
    return this.selectVersion(await this.resolveModel(ctx, name), selector);
  }

  /** The model by name, from memory when possible; another tenant's or out-of-scope is a 404. */
  async resolveModel(ctx: AuthContext, name: string): Promise<ServableModel> {
    const model = canAccessModel(ctx, name) ? await this.models.get(ctx.tenantId, name, () => this.loadModel(ctx.tenantId, name)) : null;
    if (!model) throw new ServingError(ServingErrorCode.ModelNotFound, `Model '${name}' not found`, { name });
    return model;
  }

  /**
   * Reads the models of these names into memory in one query each 1,000 (those already cached
   * are not read again), so that resolving them afterwards makes no round trip each.
   */
  async primeModels(ctx: AuthContext, names: readonly string[]): Promise<void> {
    const accessible = names.filter((name) => canAccessModel(ctx, name));
    for (let i = 0; i < accessible.length; i += 1000) {
      const loads = this.models.getMany(ctx.tenantId, accessible.slice(i, i + 1000), async (missing) => {
        const rows = await this.repository.findServingModels(ctx.tenantId, missing);
        return new Map(rows.map((row) => [row.name, toServableModel(ctx.tenantId, row)]));
      });
      await Promise.all(loads);
    }
  }

  selectVersion(model: ServableModel, selector: Pick<ModelSelector, 'version' | 'alias' | 'routingKey'>): ServableVersion {
    if (selector.version !== undefined) {
      const v = model.versions.get(selector.version);
      if (!v) throw versionNotFound(model.name, selector.version);
      return v;
    }
    if (selector.alias !== undefined) {
      const target = model.aliases.get(selector.alias);
      if (target === undefined) {
        throw new ServingError(ServingErrorCode.AliasNotFound, `Model '${model.name}' has no alias '${selector.alias}'`, { name: model.name, alias: selector.alias });
      }
      const v = model.versions.get(target);
      if (!v) throw versionNotFound(model.name, target);
      return v;
    }
    const routed = this.traffic.route(model, selector.routingKey);
    const byRule = routed === null ? undefined : model.versions.get(routed);
    if (byRule) return byRule;
    const production = model.aliases.get('production');
    const byAlias = production === undefined ? undefined : model.versions.get(production);
    if (byAlias) return byAlias;
    if (!model.latest) throw new ServingError(ServingErrorCode.VersionNotFound, `Model '${model.name}' has no versions`, { name: model.name });
    return model.latest;
  }

  /** Forget what a registry change may have made wrong. */
  invalidate(change: RegistryChange): void {
    this.models.invalidate(change.tenantId, change.model);
    // Which model a segment picks changes only when models appear, go, change segment, or gain
    // their first version or lose their last (a model without versions is no candidate).
    if (change.kind === 'version-added' || change.kind === 'version-deleted' || change.kind === 'model-updated' || change.kind === 'model-deleted') {
      this.segments.invalidateTenant(change.tenantId);
    }
  }

  invalidateAll(): void {
    this.models.clear();
    this.segments.clear();
  }

  /** Whether registry changes of other replicas reach us (shortens the refresh age when not). */
  get notificationsFlowing(): boolean {
    return this.flowing;
  }

  setNotificationsFlowing(flowing: boolean): void {
    this.flowing = flowing;
  }

  private async matchSegment(ctx: AuthContext, segment: Labels): Promise<string> {
    const matches = await this.segments.get(ctx.tenantId, segmentKey(segment), async () => {
      const candidates = await this.repository.findSegmentCandidates(ctx.tenantId, segment);
      return candidates.length ? { candidates } : null;
    });
    const best = matches && pickSegmentMatch(segment, matches.candidates.filter((c) => canAccessModel(ctx, c.name)));
    if (!best) {
      throw new ServingError(ServingErrorCode.NoModelForSegment, `No model's segment matches ${JSON.stringify(segment)}`, { segment });
    }
    return best.name;
  }

  private async loadModel(tenantId: string, name: string): Promise<ServableModel | null> {
    const row = await this.repository.findServingModel(tenantId, name);
    return row ? toServableModel(tenantId, row) : null;
  }
}

function versionNotFound(name: string, version: number): ServingError {
  return new ServingError(ServingErrorCode.VersionNotFound, `Model '${name}' has no version ${version}`, { name, version });
}
