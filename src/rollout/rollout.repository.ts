import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { MirrorRule, SplitShare, TrafficRule } from './traffic-rule';

interface RuleRow {
  model_id: string;
  tenant_id: string;
  mirror_percent: number | null;
  updated_at: Date;
  updated_by: string;
  versions: Array<{ version: number; role: 'split' | 'mirror'; weight: number }> | null;
}

export interface RolloutRow {
  id: string;
  tenant_id: string;
  kind: string;
  request: Record<string, unknown>;
  changes: RolloutChange[];
  created_at: Date;
  created_by: string;
  rolled_back_at: Date | null;
}

/** One model's state before and after a bulk rollout (for the answer and for rollback). */
export interface RolloutChange {
  modelId: string;
  model: string;
  /** Alias rollouts: the alias's version; mirror rollouts: the mirror ({version, percent}); null = none. */
  before: number | MirrorRule | null;
  after: number | MirrorRule | null;
}

const RULE_SELECT = `
  SELECT r.model_id, r.tenant_id, r.mirror_percent, r.updated_at, r.updated_by,
         (SELECT json_agg(json_build_object('version', v.version, 'role', v.role, 'weight', v.weight) ORDER BY v.role, v.version)
            FROM traffic_rule_versions v WHERE v.model_id = r.model_id) AS versions
    FROM traffic_rules r`;

@Injectable()
export class RolloutRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Every rule of every tenant: serving keeps them all in memory (one row per model under
   * rollout), so routing never waits on the database.
   */
  async loadAllRules(): Promise<TrafficRule[]> {
    return ((await this.dataSource.query(RULE_SELECT)) as RuleRow[]).map(toRule);
  }

  /**
   * A fingerprint of the rules table, polled to notice other replicas' changes: a sum of a hash
   * of every rule's model and time of change, so that any committed change alters it. (The count
   * and latest `updated_at` did not: a change written before another but committed after it
   * left both as the poll between them had seen them, and was never noticed.)
   */
  async rulesFingerprint(): Promise<string> {
    const [row] = (await this.dataSource.query(
      `SELECT count(*) AS n, coalesce(sum(hashtextextended(model_id::text || '@' || updated_at::text, 0)), 0) AS h FROM traffic_rules`,
    )) as Array<{ n: string; h: string }>;
    return `${row.n}:${row.h}`;
  }

  /** Names of these models of the tenant (rules are kept by model id; serving works by name). */
  async modelNames(tenantId: string, modelIds: string[]): Promise<Map<string, string>> {
    const rows = (await this.dataSource.query(`SELECT id, name FROM models WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [tenantId, modelIds])) as Array<{ id: string; name: string }>;
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  async findRule(tenantId: string, modelId: string, tx: EntityManager = this.dataSource.manager): Promise<TrafficRule | null> {
    const rows = (await tx.query(`${RULE_SELECT} WHERE r.tenant_id = $1 AND r.model_id = $2`, [tenantId, modelId])) as RuleRow[];
    return rows.length ? toRule(rows[0]) : null;
  }

  /** Replaces the model's rule (split and mirror) in the caller's transaction. */
  async replaceRule(tx: EntityManager, tenantId: string, modelId: string, split: SplitShare[], mirror: MirrorRule | null, by: string): Promise<void> {
    await tx.query(
      `INSERT INTO traffic_rules (model_id, tenant_id, mirror_percent, updated_at, updated_by) VALUES ($1, $2, $3, clock_timestamp(), $4)
       ON CONFLICT (model_id) DO UPDATE SET mirror_percent = EXCLUDED.mirror_percent, updated_at = clock_timestamp(), updated_by = EXCLUDED.updated_by`,
      [modelId, tenantId, mirror?.percent ?? null, by],
    );
    await tx.query(`DELETE FROM traffic_rule_versions WHERE tenant_id = $1 AND model_id = $2`, [tenantId, modelId]);
    const rows = [...split.map((s) => ({ ...s, role: 'split' })), ...(mirror ? [{ version: mirror.version, weight: mirror.percent, role: 'mirror' }] : [])];
    for (const r of rows) {
      await tx.query(`INSERT INTO traffic_rule_versions (model_id, tenant_id, version, role, weight) VALUES ($1, $2, $3, $4, $5)`, [
        modelId,
        tenantId,
        r.version,
        r.role,
        r.weight,
      ]);
    }
  }

  async deleteRule(tx: EntityManager, tenantId: string, modelId: string): Promise<boolean> {
    const result = await tx.createQueryBuilder().delete().from('traffic_rules').where('tenant_id = :tenantId AND model_id = :modelId', { tenantId, modelId }).execute();
    return (result.affected ?? 0) > 0;
  }

  async insertRollout(tx: EntityManager, tenantId: string, kind: string, request: object, changes: RolloutChange[], by: string): Promise<RolloutRow> {
    const [row] = (await tx.query(
      `INSERT INTO rollouts (tenant_id, kind, request, changes, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [tenantId, kind, JSON.stringify(request), JSON.stringify(changes), by],
    )) as RolloutRow[];
    return row;
  }

  async findRollout(tenantId: string, id: string, tx: EntityManager = this.dataSource.manager, lock = false): Promise<RolloutRow | null> {
    const rows = (await tx.query(`SELECT * FROM rollouts WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [tenantId, id])) as RolloutRow[];
    return rows[0] ?? null;
  }

  /** Newest first; `after` (a rollout's id) starts the page after that rollout. */
  async listRollouts(tenantId: string, limit: number, after?: string): Promise<RolloutRow[]> {
    if (after === undefined) {
      return (await this.dataSource.query(`SELECT * FROM rollouts WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [tenantId, limit])) as RolloutRow[];
    }
    return (await this.dataSource.query(
      `SELECT * FROM rollouts WHERE tenant_id = $1 AND (created_at, id) < (SELECT created_at, id FROM rollouts WHERE tenant_id = $1 AND id = $3)
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      [tenantId, limit, after],
    )) as RolloutRow[];
  }

  async markRolledBack(tx: EntityManager, tenantId: string, id: string): Promise<void> {
    await tx.query(`UPDATE rollouts SET rolled_back_at = now() WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  }

  /** Where an alias points for each of these models (absent = no such alias). */
  async aliasVersions(tenantId: string, alias: string, modelIds: string[], tx: EntityManager = this.dataSource.manager): Promise<Map<string, number>> {
    const rows = (await tx.query(`SELECT model_id, version FROM model_aliases WHERE tenant_id = $1 AND alias = $2 AND model_id = ANY($3::uuid[])`, [
      tenantId,
      alias,
      modelIds,
    ])) as Array<{ model_id: string; version: number }>;
    return new Map(rows.map((r) => [r.model_id, r.version]));
  }

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}

function toRule(row: RuleRow): TrafficRule {
  const versions = row.versions ?? [];
  const mirror = versions.find((v) => v.role === 'mirror');
  return {
    modelId: row.model_id,
    tenantId: row.tenant_id,
    split: versions.filter((v) => v.role === 'split').map((v) => ({ version: v.version, weight: Number(v.weight) })),
    mirror: mirror ? { version: mirror.version, percent: Number(row.mirror_percent ?? mirror.weight) } : null,
    updatedAt: new Date(row.updated_at),
    updatedBy: row.updated_by,
  };
}
