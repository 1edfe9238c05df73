import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ArtifactFormat, ModelSignature } from './artifact/artifact.types';
import { ModelAliasEntity } from './entities/model-alias.entity';
import { ModelVersionEntity } from './entities/model-version.entity';
import { Labels, ModelEntity } from './entities/model.entity';
import { assertMergedLabelCount } from './labels';

export interface NewVersion {
  sha256: string;
  sizeBytes: number;
  /** The ONNX file stored for it. */
  storedBytes: number;
  format: ArtifactFormat;
  modelSha256: string;
  signature: ModelSignature;
  mlflow: Record<string, unknown> | null;
  tags: Labels;
  description: string | null;
  createdBy: string;
  /** Replaces the model's segment when given. */
  segment?: Labels;
}

export interface ModelListFilter {
  segment: Labels;
  tags: Labels;
  /** Case-insensitive substring of the model name. */
  q?: string;
  /** Names after this one (cursor pagination, ordered by name). */
  after?: string;
  limit: number;
  /** SQL LIKE patterns the name must match one of (a scorer key's model globs); undefined = any. */
  nameLike?: string[];
}

export interface ModelListRow {
  model: ModelEntity;
  latest: ModelVersionEntity | null;
}

/**
 * Every query here takes the tenant and filters on it: a model of another tenant is
 * indistinguishable from a missing one.
 */
@Injectable()
export class ModelsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Creates the model if needed and appends the next version, in one transaction. The
   * upsert takes the model row's lock, so concurrent uploads get consecutive numbers.
   */
  /** `beforeInsert` runs first in the same transaction (the quota check, which may refuse). */
  async appendVersion(
    tenantId: string,
    name: string,
    v: NewVersion,
    beforeInsert?: (tx: EntityManager) => Promise<void>,
  ): Promise<{ model: ModelEntity; version: ModelVersionEntity }> {
    return this.dataSource.transaction(async (tx) => {
      await beforeInsert?.(tx);
      const [row] = (await tx.query(
        `INSERT INTO models (tenant_id, name, description, segment, tags, latest_version)
         VALUES ($1, $2, $3, COALESCE($4::jsonb, '{}'::jsonb), $5::jsonb, 1)
         ON CONFLICT (tenant_id, name) DO UPDATE
           SET latest_version = models.latest_version + 1,
               segment = COALESCE($4::jsonb, models.segment),
               tags = models.tags || $5::jsonb,
               updated_at = now()
         RETURNING id, latest_version`,
        [tenantId, name, v.description, v.segment ? JSON.stringify(v.segment) : null, JSON.stringify(v.tags)],
      )) as Array<{ id: string; latest_version: number }>;
      const version = tx.create(ModelVersionEntity, {
        tenantId,
        modelId: row.id,
        version: row.latest_version,
        sha256: v.sha256,
        sizeBytes: v.sizeBytes,
        storedBytes: v.storedBytes,
        format: v.format,
        modelSha256: v.modelSha256,
        signature: v.signature,
        mlflow: v.mlflow,
        tags: v.tags,
        description: v.description,
        createdBy: v.createdBy,
      });
      const saved = await tx.save(version);
      const model = await tx.findOneByOrFail(ModelEntity, { tenantId, id: row.id });
      // The upload's tags are merged into the model's: refused (the transaction rolled back) past the limit.
      assertMergedLabelCount('tags', model.tags);
      return { model, version: saved };
    });
  }

  findModelByName(tenantId: string, name: string, tx: EntityManager = this.dataSource.manager): Promise<ModelEntity | null> {
    return tx.findOneBy(ModelEntity, { tenantId, name });
  }

  findVersionsOfModel(tenantId: string, modelId: string): Promise<ModelVersionEntity[]> {
    return this.dataSource.manager.find(ModelVersionEntity, { where: { tenantId, modelId }, order: { version: 'ASC' } });
  }

  findAliasesOfModel(tenantId: string, modelId: string): Promise<ModelAliasEntity[]> {
    return this.dataSource.manager.find(ModelAliasEntity, { where: { tenantId, modelId }, order: { alias: 'ASC' } });
  }

  findVersion(tenantId: string, modelId: string, version: number, tx: EntityManager = this.dataSource.manager): Promise<ModelVersionEntity | null> {
    return tx.findOneBy(ModelVersionEntity, { tenantId, modelId, version });
  }

  /**
   * One page of a tenant's models, ordered by name, each with its latest version. Segment
   * and tag filters use jsonb containment, which the GIN indexes serve.
   */
  async listModels(tenantId: string, filter: ModelListFilter): Promise<ModelListRow[]> {
    const params: unknown[] = [tenantId];
    const where = ['m.tenant_id = $1'];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (Object.keys(filter.segment).length) add((p) => `m.segment @> ${p}::jsonb`, JSON.stringify(filter.segment));
    if (Object.keys(filter.tags).length) add((p) => `m.tags @> ${p}::jsonb`, JSON.stringify(filter.tags));
    // LIKE (not strpos) so the trigram index serves it; escape LIKE's own wildcards.
    if (filter.q) add((p) => `m.name LIKE ${p}`, `%${filter.q.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
    if (filter.after !== undefined) add((p) => `m.name > ${p}`, filter.after);
    if (filter.nameLike) add((p) => `m.name LIKE ANY(${p}::text[])`, filter.nameLike);
    params.push(filter.limit);
    const ids = (await this.dataSource.query(
      `SELECT m.id FROM models m WHERE ${where.join(' AND ')} ORDER BY m.name LIMIT $${params.length}`,
      params,
    )) as Array<{ id: string }>;
    if (!ids.length) return [];
    const idList = ids.map((r) => r.id);
    const models = await this.dataSource.manager
      .createQueryBuilder(ModelEntity, 'm')
      .where('m.tenant_id = :tenantId AND m.id IN (:...idList)', { tenantId, idList })
      .orderBy('m.name', 'ASC')
      .getMany();
    const latest = await this.dataSource.manager
      .createQueryBuilder(ModelVersionEntity, 'v')
      .innerJoin(ModelEntity, 'm', 'm.id = v.model_id AND m.latest_version = v.version')
      .where('v.tenant_id = :tenantId AND v.model_id IN (:...idList)', { tenantId, idList })
      .getMany();
    // latest_version may name a deleted version: fall back to the highest remaining one.
    const missing = idList.filter((id) => !latest.some((v) => v.modelId === id));
    if (missing.length) {
      latest.push(
        ...(await this.dataSource.manager
          .createQueryBuilder(ModelVersionEntity, 'v')
          .distinctOn(['v.model_id'])
          .where('v.tenant_id = :tenantId AND v.model_id IN (:...missing)', { tenantId, missing })
          .orderBy('v.model_id')
          .addOrderBy('v.version', 'DESC')
          .getMany()),
      );
    }
    const latestByModel = new Map(latest.map((v) => [v.modelId, v]));
    return models.map((model) => ({ model, latest: latestByModel.get(model.id) ?? null }));
  }

  async updateModel(
    tenantId: string,
    modelId: string,
    patch: Partial<Pick<ModelEntity, 'description' | 'segment' | 'tags'>>,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await tx.update(ModelEntity, { tenantId, id: modelId }, patch);
  }

  /** Runs `work` with the model row locked, so version deletes and alias moves don't interleave. */
  async withModelLocked<T>(tenantId: string, name: string, work: (tx: EntityManager, model: ModelEntity | null) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (tx) => {
      const model = await tx
        .createQueryBuilder(ModelEntity, 'm')
        .setLock('pessimistic_write')
        .where('m.tenant_id = :tenantId AND m.name = :name', { tenantId, name })
        .getOne();
      return work(tx, model);
    });
  }

  /** The version that serves a request no rule routes: alias production's, else the highest existing one. */
  async findDefaultVersion(tx: EntityManager, tenantId: string, modelId: string): Promise<{ version: ModelVersionEntity; via: 'production' | 'latest' } | null> {
    const production = await tx.findOneBy(ModelAliasEntity, { tenantId, modelId, alias: 'production' });
    const byAlias = production ? await this.findVersion(tenantId, modelId, production.version, tx) : null;
    if (byAlias) return { version: byAlias, via: 'production' };
    const latest = await tx.findOne(ModelVersionEntity, { where: { tenantId, modelId }, order: { version: 'DESC' } });
    return latest && { version: latest, via: 'latest' };
  }

  /** Locks the model row by id (bulk changes, which know ids); false when it is gone. */
  async lockModelById(tx: EntityManager, tenantId: string, modelId: string): Promise<boolean> {
    const rows = (await tx.query('SELECT 1 FROM models WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, modelId])) as unknown[];
    return rows.length > 0;
  }

  /**
   * Locks many model rows by id in one statement, in id order (every bulk change locks in that
   * order, so two never deadlock); answers the ids still present.
   */
  async lockModelsById(tx: EntityManager, tenantId: string, modelIds: string[]): Promise<Set<string>> {
    const rows = (await tx.query('SELECT id FROM models WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE', [tenantId, modelIds])) as Array<{ id: string }>;
    return new Set(rows.map((r) => r.id));
  }

  findAliasesPointingAt(tx: EntityManager, tenantId: string, modelId: string, version: number): Promise<ModelAliasEntity[]> {
    return tx.findBy(ModelAliasEntity, { tenantId, modelId, version });
  }

  /** Whether the model's traffic rule (split or mirror) names this version. */
  async isVersionInTrafficRule(tx: EntityManager, tenantId: string, modelId: string, version: number): Promise<boolean> {
    const rows = (await tx.query('SELECT 1 FROM traffic_rule_versions WHERE tenant_id = $1 AND model_id = $2 AND version = $3 LIMIT 1', [
      tenantId,
      modelId,
      version,
    ])) as unknown[];
    return rows.length > 0;
  }

  async deleteVersion(tx: EntityManager, tenantId: string, modelId: string, version: number): Promise<void> {
    await tx.delete(ModelVersionEntity, { tenantId, modelId, version });
  }

  /**
   * Deletes the model with its versions, aliases and traffic rule, in one transaction. The rule
   * goes first and explicitly: its version rows reference model_versions without a cascade (so a
   * version a rule names cannot be deleted alone), and the cascade from models reaches them only
   * through traffic_rules, after that reference was already checked. The model row is locked
   * first, so a rule set meanwhile either commits before (and is deleted) or finds no model.
   */
  async deleteModel(tenantId: string, name: string): Promise<boolean> {
    return this.withModelLocked(tenantId, name, async (tx, model) => {
      if (!model) return false;
      await tx.query('DELETE FROM traffic_rules WHERE tenant_id = $1 AND model_id = $2', [tenantId, model.id]);
      const result = await tx.delete(ModelEntity, { tenantId, id: model.id });
      return (result.affected ?? 0) > 0;
    });
  }

  async upsertAlias(tx: EntityManager, tenantId: string, modelId: string, alias: string, version: number): Promise<ModelAliasEntity> {
    await tx.query(
      `INSERT INTO model_aliases (tenant_id, model_id, alias, version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model_id, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
      [tenantId, modelId, alias, version],
    );
    return tx.findOneByOrFail(ModelAliasEntity, { tenantId, modelId, alias });
  }

  async deleteAlias(tenantId: string, modelId: string, alias: string, tx: EntityManager = this.dataSource.manager): Promise<boolean> {
    const result = await tx.delete(ModelAliasEntity, { tenantId, modelId, alias });
    return (result.affected ?? 0) > 0;
  }

  /** Whether the tenant has a model of this name (quota checks: a new name adds a model). */
  async modelExists(tenantId: string, name: string): Promise<boolean> {
    return this.dataSource.manager.existsBy(ModelEntity, { tenantId, name });
  }

  /**
   * Store housekeeping, deliberately across tenants: a blob is shared by every version
   * (of any tenant) with the same content, so it may go only when none references it — nor
   * any batch job that pinned it: a job keeps scoring (and a retry rescoring) with its pinned
   * version even after that version was deleted, until the job itself is deleted.
   */
  async isArtifactReferenced(sha256: string): Promise<boolean> {
    const rows = (await this.dataSource.query('SELECT 1 FROM model_versions WHERE model_sha256 = $1 LIMIT 1', [sha256])) as unknown[];
    if (rows.length > 0) return true;
    // Only blobs no version uses get here (those of deleted versions): few, so a scan of the pins is fine.
    const pinned = (await this.dataSource.query(
      `SELECT 1 FROM batch_jobs j WHERE EXISTS (SELECT 1 FROM jsonb_each(j.pinned) p WHERE p.value ->> 'modelSha256' = $1) LIMIT 1`,
      [sha256],
    )) as unknown[];
    return pinned.length > 0;
  }
}
