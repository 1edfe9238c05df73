import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { AuthContext } from '../auth/auth-context';
import { canAccessModel, globToLikePattern } from '../auth/model-scope';
import type { ModelEntity } from '../registry/entities/model.entity';
import { ModelsRepository } from '../registry/models.repository';
import { assertAliasName, assertModelName } from '../registry/names';
import { RegistryError, RegistryErrorCode } from '../registry/registry.error';
import { RegistryEvents } from '../registry/registry-events';
import { ModelSelector, parseRolloutBody, parseRolloutListQuery, parseTrafficBody, rolloutCursor, RolloutRequest } from './rollout.dto';
import { isForeignKeyViolation, RolloutError, RolloutErrorCode } from './rollout.error';
import { RolloutChange, RolloutRepository, RolloutRow } from './rollout.repository';
import { ShadowMonitor } from './shadow-monitor';
import { ruleProblem, RulePrimaries, RuleVersion, splitOutputProblem } from './rule-compatibility';
import { MirrorRule, SplitShare, TrafficRule } from './traffic-rule';
import { TrafficRulesStore } from './traffic-rules.store';
import { VersionPrewarmer } from './version-prewarmer';
import { isUuid } from '../common/uuid';

/** A bulk rollout touches at most this many models (one transaction). */
export const MAX_ROLLOUT_MODELS = 10_000;
const PAGE = 1000;

@Injectable()
export class RolloutService {
  constructor(
    private readonly repository: RolloutRepository,
    private readonly models: ModelsRepository,
    private readonly rules: TrafficRulesStore,
    private readonly shadows: ShadowMonitor,
    private readonly prewarmer: VersionPrewarmer,
    private readonly events: RegistryEvents,
    private readonly audit: AuditService,
  ) {}

  /** PUT /v1/models/{name}/traffic: versions are warmed first, then the rule switches atomically. */
  async setTraffic(ctx: AuthContext, name: string, body: unknown) {
    assertModelName(name);
    const { split, mirror } = parseTrafficBody(body);
    const versions = [...new Set([...split.map((s) => s.version), ...(mirror ? [mirror.version] : [])])];
    const existing = await this.requireModel(ctx, name);
    // Checked before warming too, so that a refused rule loads nothing; again under the lock, which decides.
    await this.repository.transaction((tx) => this.assertRuleFits(ctx, tx, existing.id, name, split, mirror));
    await this.prewarmer.prewarm(ctx, name, versions);
    const rule = await this.models.withModelLocked(ctx.tenantId, name, async (tx, model) => {
      if (!model) throw modelNotFound(name);
      await this.assertRuleFits(ctx, tx, model.id, name, split, mirror);
      await this.repository.replaceRule(tx, ctx.tenantId, model.id, split, mirror, ctx.principal);
      await this.audit.record(ctx, 'model.traffic.set', `models/${name}/traffic`, { split, mirror }, tx);
      return this.repository.findRule(ctx.tenantId, model.id, tx);
    });
    this.applyRule(ctx, name, rule!);
    return this.trafficView(name, rule!);
  }

  /** The rule's versions exist, and fit together (rule-compatibility.ts): else 404 or 400. */
  private async assertRuleFits(ctx: AuthContext, tx: EntityManager, modelId: string, name: string, split: SplitShare[], mirror: MirrorRule | null): Promise<void> {
    const found = new Map<number, RuleVersion>();
    for (const version of new Set([...split.map((s) => s.version), ...(mirror ? [mirror.version] : [])])) {
      const entity = await this.models.findVersion(ctx.tenantId, modelId, version, tx);
      if (!entity) throw new RegistryError(RegistryErrorCode.VersionNotFound, `Model '${name}' has no version ${version}`, { name, version });
      found.set(version, entity);
    }
    const primaries = await this.primariesOf(ctx, tx, modelId, split, found);
    const problem = ruleProblem(primaries, mirror ? found.get(mirror.version)! : null) ?? (split.length ? splitOutputProblem(primaries) : null);
    if (problem) throw new RolloutError(RolloutErrorCode.InvalidRule, `Model '${name}': ${problem.message}`, { name, ...problem.details });
  }

  async getTraffic(ctx: AuthContext, name: string) {
    const model = await this.requireModel(ctx, name);
    const rule = await this.repository.findRule(ctx.tenantId, model.id);
    if (!rule) return { model: name, split: null, mirror: null, comparison: this.shadows.figuresOf(model.id) };
    return this.trafficView(name, rule);
  }

  async deleteTraffic(ctx: AuthContext, name: string): Promise<void> {
    const model = await this.requireModel(ctx, name);
    // Under the model's lock, like every other rule change: a bulk mirror being written cannot bring the rule back.
    const deleted = await this.models.withModelLocked(ctx.tenantId, name, async (tx, locked) => {
      if (locked?.id !== model.id) return false;
      const gone = await this.repository.deleteRule(tx, ctx.tenantId, model.id);
      if (gone) await this.audit.record(ctx, 'model.traffic.delete', `models/${name}/traffic`, {}, tx);
      return gone;
    });
    if (!deleted) throw new RolloutError(RolloutErrorCode.RuleNotFound, `Model '${name}' has no traffic rule`, { name });
    this.rules.remove(model.id);
    this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'model-updated' });
  }

  /**
   * POST /v1/rollouts: move an alias, or set a mirror, to each selected model's latest version,
   * all in one transaction; the previous state is kept so the rollout can be rolled back.
   */
  async createRollout(ctx: AuthContext, body: unknown) {
    const request = parseRolloutBody(body);
    if (request.kind === 'alias') assertAliasName(request.alias);
    const targets = await this.selectModels(ctx, request.selector);
    await Promise.all(targets.slice(0, 50).map((t) => this.prewarmer.prewarm(ctx, t.model.name, [t.latest])));
    const latestOf = new Map(targets.map((t) => [t.model.id, t.latestVersion]));
    const refused: Array<{ model: string; reason: string }> = [];
    const skipped: Array<{ model: string; reason: string }> = [];
    const row = await this.inBulkTransaction(async (tx) => {
      // Locked as a single alias or rule change locks its model, and only then read: the state
      // recorded for rollback is the one this rollout replaces, not one read before a concurrent change.
      const present = await this.models.lockModelsById(tx, ctx.tenantId, targets.map((t) => t.model.id));
      const before = request.kind === 'alias' ? await this.repository.aliasVersions(ctx.tenantId, request.alias, [...present], tx) : null;
      const changes: RolloutChange[] = [];
      for (const { model, latest } of targets) {
        if (!present.has(model.id)) {
          throw new RolloutError(RolloutErrorCode.RolloutConflict, `Model '${model.name}' was deleted while the rollout was being made; nothing was changed: try again`, { model: model.name });
        }
        await conflictIfDeletedMeanwhile(model.name, latest, async () => {
          if (request.kind === 'alias') {
            await this.models.upsertAlias(tx, ctx.tenantId, model.id, request.alias, latest);
            changes.push({ modelId: model.id, model: model.name, before: before!.get(model.id) ?? null, after: latest });
          } else {
            // The stored rule, not this replica's copy, which may lag another replica's change.
            const current = await this.repository.findRule(ctx.tenantId, model.id, tx);
            const split = current?.split ?? [];
            const problem = ruleProblem(await this.primariesOf(ctx, tx, model.id, split), latestOf.get(model.id)!);
            if (problem?.kind === 'mirror-of-itself') {
              // Not retrained since (or no production alias yet): nothing new to compare, so left as it is.
              skipped.push({ model: model.name, reason: problem.message });
              return;
            }
            if (problem) refused.push({ model: model.name, reason: problem.message });
            const mirror: MirrorRule = { version: latest, percent: request.percent };
            await this.repository.replaceRule(tx, ctx.tenantId, model.id, current?.split ?? [], mirror, ctx.principal);
            changes.push({ modelId: model.id, model: model.name, before: current?.mirror ?? null, after: mirror });
          }
        });
      }
      if (refused.length) {
        // All or nothing, like the rollout itself: the caller narrows the selector or fixes those models.
        const shown = refused.slice(0, 20).map((r) => `'${r.model}': ${r.reason}`);
        throw new RolloutError(
          RolloutErrorCode.InvalidRule,
          `Cannot mirror ${refused.length} of the selected models to their latest version (${shown.join('; ')}${refused.length > 20 ? '; …' : ''}); nothing was changed`,
          { refused: refused.slice(0, 100) },
        );
      }
      const rollout = await this.repository.insertRollout(tx, ctx.tenantId, request.kind, request, changes, ctx.principal);
      await this.audit.record(ctx, `rollout.${request.kind}`, `rollouts/${rollout.id}`, { models: changes.length, skipped: skipped.length }, tx);
      return rollout;
    });
    await this.afterBulkChange(ctx, row.changes, request);
    return { ...rolloutView(row), ...(request.kind === 'mirror' ? { skipped: skipped.slice(0, 1000) } : {}) };
  }

  /** POST /v1/rollouts/{id}/rollback: every model back to where the rollout found it, atomically. */
  async rollback(ctx: AuthContext, id: string) {
    const existing = await this.requireRollout(ctx, id);
    const request = existing.request as unknown as RolloutRequest;
    const row = await this.inBulkTransaction(async (tx) => {
      const locked = (await this.repository.findRollout(ctx.tenantId, id, tx, true))!;
      if (locked.rolled_back_at) throw new RolloutError(RolloutErrorCode.RolloutAlreadyRolledBack, `Rollout ${id} was rolled back already`, { id });
      // All at once, in the order a rollout locks them, so that a rollback and a rollout never deadlock.
      await this.models.lockModelsById(tx, ctx.tenantId, locked.changes.map((c) => c.modelId));
      for (const change of locked.changes) await this.restore(ctx, tx, id, request, change);
      await this.repository.markRolledBack(tx, ctx.tenantId, id);
      await this.audit.record(ctx, `rollout.${locked.kind}.rollback`, `rollouts/${id}`, { models: locked.changes.length }, tx);
      return (await this.repository.findRollout(ctx.tenantId, id, tx))!;
    });
    await this.afterBulkChange(ctx, row.changes, request);
    return rolloutView(row);
  }

  async getRollout(ctx: AuthContext, id: string) {
    return rolloutView(await this.requireRollout(ctx, id));
  }

  async listRollouts(ctx: AuthContext, query: Record<string, unknown>) {
    const { limit, after } = parseRolloutListQuery(query);
    const rows = await this.repository.listRollouts(ctx.tenantId, limit + 1, after);
    // An empty page after a cursor naming no rollout of this tenant would read as "no more": say the cursor is wrong.
    if (after !== undefined && !rows.length && !(await this.repository.findRollout(ctx.tenantId, after))) {
      throw new RolloutError(RolloutErrorCode.InvalidCursor, 'The cursor is not one this service handed out', { parameter: 'cursor' });
    }
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({ ...rolloutView(r), changes: undefined, models: r.changes.length })),
      nextCursor: rows.length > limit ? rolloutCursor(page[page.length - 1].id) : null,
    };
  }

  /**
   * Puts one model back as the rollout found it. A model deleted since has nothing to restore
   * and is skipped; a version deleted since cannot come back, so the whole rollback is refused
   * (409, naming model and version) and nothing changes. The model row is locked first, so the
   * version checked cannot be deleted before the transaction commits.
   */
  private async restore(ctx: AuthContext, tx: EntityManager, id: string, request: RolloutRequest, change: RolloutChange): Promise<void> {
    if (!(await this.models.lockModelById(tx, ctx.tenantId, change.modelId))) return;
    const before = request.kind === 'alias' ? (change.before as number | null) : ((change.before as MirrorRule | null)?.version ?? null);
    const restored = before === null ? null : await this.models.findVersion(ctx.tenantId, change.modelId, before, tx);
    if (before !== null && !restored) {
      throw new RolloutError(
        RolloutErrorCode.RollbackVersionGone,
        `Cannot roll back rollout ${id}: model '${change.model}' no longer has version ${before} (deleted since the rollout), which it would restore. Nothing was changed`,
        { id, model: change.model, version: before },
      );
    }
    if (request.kind === 'alias') {
      if (before === null) await this.models.deleteAlias(ctx.tenantId, change.modelId, request.alias, tx);
      else await this.models.upsertAlias(tx, ctx.tenantId, change.modelId, request.alias, before);
      return;
    }
    const current = await this.repository.findRule(ctx.tenantId, change.modelId, tx);
    const mirror = change.before as MirrorRule | null;
    // The split may have changed since: a mirror that no longer takes its versions' inputs would only fail.
    const problem = restored ? ruleProblem(await this.primariesOf(ctx, tx, change.modelId, current?.split ?? []), restored) : null;
    if (problem?.kind === 'different-inputs') {
      throw new RolloutError(
        RolloutErrorCode.RolloutConflict,
        `Cannot roll back rollout ${id}: model '${change.model}' would mirror to version ${before} again, which no longer fits its rule (${problem.message}). Nothing was changed`,
        { id, model: change.model, version: before, ...problem.details },
      );
    }
    // A rule the rollout created (no split, no mirror before) goes away rather than stay empty.
    if (!current?.split.length && !mirror) await this.repository.deleteRule(tx, ctx.tenantId, change.modelId);
    else await this.repository.replaceRule(tx, ctx.tenantId, change.modelId, current?.split ?? [], mirror, ctx.principal);
  }

  /** A bulk change's transaction; a row it wrote that names something deleted meanwhile is a 409 without SQL in it. */
  private async inBulkTransaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.repository.transaction(work);
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      throw new RolloutError(RolloutErrorCode.RolloutConflict, 'A selected model or version was deleted while the change was being made; nothing was changed: try again', {});
    }
  }

  private async afterBulkChange(ctx: AuthContext, changes: RolloutChange[], request: RolloutRequest): Promise<void> {
    if (request.kind === 'mirror') await this.rules.reload();
    for (const c of changes) this.events.publish({ tenantId: ctx.tenantId, model: c.model, kind: request.kind === 'alias' ? 'alias-set' : 'model-updated' });
  }

  /**
   * The versions that answer clients under a rule with this split: its versions with a weight
   * above 0, or (no split) the model's default, alias production else the latest version.
   */
  private async primariesOf(ctx: AuthContext, tx: EntityManager, modelId: string, split: SplitShare[], known = new Map<number, RuleVersion>()): Promise<RulePrimaries> {
    const serving = split.filter((s) => s.weight > 0);
    if (serving.length) {
      const versions: RuleVersion[] = [];
      for (const s of serving) {
        const v = known.get(s.version) ?? (await this.models.findVersion(ctx.tenantId, modelId, s.version, tx));
        if (v) versions.push(v);
      }
      return { versions, source: 'the split' };
    }
    const fallback = await this.models.findDefaultVersion(tx, ctx.tenantId, modelId);
    return {
      versions: fallback ? [fallback.version] : [],
      source: fallback?.via === 'production' ? 'alias production; no split' : 'the latest version; no split, no alias production',
    };
  }

  /** Every model matching the selector with its latest version, read before the write transaction. */
  private async selectModels(ctx: AuthContext, selector: ModelSelector): Promise<Array<{ model: ModelEntity; latest: number; latestVersion: RuleVersion }>> {
    const found: Array<{ model: ModelEntity; latest: number; latestVersion: RuleVersion }> = [];
    let after: string | undefined;
    for (;;) {
      const rows = await this.models.listModels(ctx.tenantId, {
        ...selector,
        after,
        limit: PAGE,
        nameLike: ctx.modelScope ? ctx.modelScope.map(globToLikePattern) : undefined,
      });
      for (const r of rows) if (r.latest) found.push({ model: r.model, latest: r.latest.version, latestVersion: r.latest });
      if (found.length > MAX_ROLLOUT_MODELS) {
        throw new RolloutError(RolloutErrorCode.InvalidRule, `The selector matches more than ${MAX_ROLLOUT_MODELS} models: narrow it`, { limit: MAX_ROLLOUT_MODELS });
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1].model.name;
    }
    if (!found.length) throw new RolloutError(RolloutErrorCode.NothingSelected, 'No model matches the selector', { selector });
    return found;
  }

  private applyRule(ctx: AuthContext, name: string, rule: TrafficRule): void {
    this.rules.put(rule);
    this.events.publish({ tenantId: ctx.tenantId, model: name, kind: 'model-updated' });
  }

  private trafficView(name: string, rule: TrafficRule) {
    return {
      model: name,
      split: rule.split.length ? Object.fromEntries(rule.split.map((s) => [String(s.version), s.weight])) : null,
      mirror: rule.mirror,
      updatedAt: rule.updatedAt.toISOString(),
      updatedBy: rule.updatedBy,
      comparison: this.shadows.figuresOf(rule.modelId),
    };
  }

  private async requireModel(ctx: AuthContext, name: string): Promise<ModelEntity> {
    assertModelName(name);
    const model = canAccessModel(ctx, name) ? await this.models.findModelByName(ctx.tenantId, name) : null;
    if (!model) throw modelNotFound(name);
    return model;
  }

  private async requireRollout(ctx: AuthContext, id: string): Promise<RolloutRow> {
    const row = isUuid(id) ? await this.repository.findRollout(ctx.tenantId, id) : null;
    if (!row) throw new RolloutError(RolloutErrorCode.RolloutNotFound, `Rollout ${id} not found`, { id });
    return row;
  }
}

/** Runs one model's part of a bulk change; a row naming a model or version deleted meanwhile becomes a 409 naming them. */
async function conflictIfDeletedMeanwhile(model: string, version: number, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!isForeignKeyViolation(error)) throw error;
    throw new RolloutError(RolloutErrorCode.RolloutConflict, `Model '${model}' or its version ${version} was deleted while the rollout was being made; nothing was changed: try again`, {
      model,
      version,
    });
  }
}

function modelNotFound(name: string): RegistryError {
  return new RegistryError(RegistryErrorCode.ModelNotFound, `Model '${name}' not found`, { name });
}

function rolloutView(r: RolloutRow) {
  return {
    id: r.id,
    kind: r.kind,
    request: r.request,
    changes: r.changes.map((c) => ({ model: c.model, before: c.before, after: c.after })),
    createdAt: new Date(r.created_at).toISOString(),
    createdBy: r.created_by,
    rolledBackAt: r.rolled_back_at ? new Date(r.rolled_back_at).toISOString() : null,
  };
}
