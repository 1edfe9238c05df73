import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ErrorSums } from './feedback-math';

/** One logged prediction, as the writer buffers it. */
export interface PredictionRecord {
  id: string;
  tenantId: string;
  model: string;
  version: number;
  routingKey: string | null;
  predicted: Record<string, unknown>;
  createdAt: Date;
  /** A shadow version's answer to a mirrored request: the id of the prediction the client got. */
  shadowOf?: string;
}

/** A logged prediction found for feedback. */
export interface LoggedPrediction {
  id: string;
  model: string;
  version: number;
  routingKey: string | null;
  predicted: Record<string, unknown>;
  /** The model's first output when it answered several (`predicted`, jsonb, keeps its keys sorted, not in the model's order). */
  firstOutput: string | null;
}

/** A shadow version's logged answer to a mirrored request. */
export interface LoggedShadowPrediction extends LoggedPrediction {
  shadowOf: string;
}

export interface FeedbackUpdate {
  id: string;
  actual: unknown;
  sums: ErrorSums;
}

export interface VersionQualityRow {
  version: number;
  /** Figures of the version's shadow answers to mirrored requests, not of answers a client got. */
  mirrored: boolean;
  count: number;
  sums: ErrorSums;
  firstFeedbackAt: Date;
  lastFeedbackAt: Date;
}

const PURGE_CHUNK = 10_000;

/** The prediction_log table. Every query filters on the tenant, except retention's purge by age. */
@Injectable()
export class PredictionLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One round trip for a whole batch, as one JSON parameter (built by concatenation: the
   * outputs are the only part that needs JSON.stringify); a predictionId already there (a
   * retried flush) is kept.
   */
  async insertPredictions(records: PredictionRecord[]): Promise<void> {
    if (!records.length) return;
    const rows = records.map((r) => {
      const outputs = Object.keys(r.predicted);
      return (
        `{"i":"${r.id}","t":"${r.tenantId}","m":${JSON.stringify(r.model)},"v":${r.version},"k":${r.routingKey === null ? 'null' : JSON.stringify(r.routingKey)},` +
        `"p":${JSON.stringify(r.predicted)},"f":${outputs.length > 1 ? JSON.stringify(outputs[0]) : 'null'},"c":${r.createdAt.getTime()},"s":${r.shadowOf ? `"${r.shadowOf}"` : 'null'}}`
      );
    });
    await this.dataSource.query(
      `INSERT INTO prediction_log (id, tenant_id, model, version, routing_key, predicted, first_output, created_at, shadow_of)
       SELECT i, t, m, v, k, p, f, to_timestamp(c / 1000.0), s FROM json_to_recordset($1::json) AS r(i uuid, t uuid, m text, v int, k text, p jsonb, f text, c float8, s uuid)
       ON CONFLICT (id) DO NOTHING`,
      [`[${rows.join(',')}]`],
    );
  }

  async findPredictionsByIds(tenantId: string, ids: string[]): Promise<LoggedPrediction[]> {
    if (!ids.length) return [];
    return (await this.dataSource.query(
      `SELECT id, model, version, routing_key AS "routingKey", predicted, first_output AS "firstOutput" FROM prediction_log WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND shadow_of IS NULL`,
      [tenantId, ids],
    )) as LoggedPrediction[];
  }

  /** The shadow answers logged for these predictions (mirrored requests). */
  async findShadowsOf(tenantId: string, ids: string[]): Promise<LoggedShadowPrediction[]> {
    if (!ids.length) return [];
    return (await this.dataSource.query(
      `SELECT id, model, version, routing_key AS "routingKey", predicted, first_output AS "firstOutput", shadow_of AS "shadowOf" FROM prediction_log WHERE tenant_id = $1 AND shadow_of = ANY($2::uuid[])`,
      [tenantId, ids],
    )) as LoggedShadowPrediction[];
  }

  /** For each (model, key) pair, the latest prediction logged with that routing key. */
  async findLatestPredictionsByKeys(tenantId: string, pairs: Array<{ model: string; key: string }>): Promise<LoggedPrediction[]> {
    if (!pairs.length) return [];
    return (await this.dataSource.query(
      `SELECT p.id, p.model, p.version, p.routing_key AS "routingKey", p.predicted, p.first_output AS "firstOutput"
         FROM unnest($2::text[], $3::text[]) AS k(model, key)
         CROSS JOIN LATERAL (
           SELECT * FROM prediction_log l
            WHERE l.tenant_id = $1 AND l.model = k.model AND l.routing_key = k.key
            ORDER BY l.created_at DESC LIMIT 1) p`,
      [tenantId, pairs.map((p) => p.model), pairs.map((p) => p.key)],
    )) as LoggedPrediction[];
  }

  /** Stores actuals and their error sums (a later feedback for the same prediction replaces an earlier one). */
  async recordFeedback(tenantId: string, updates: FeedbackUpdate[]): Promise<void> {
    if (!updates.length) return;
    await this.dataSource.query(
      `UPDATE prediction_log l SET
         actual = u.actual, feedback_at = clock_timestamp(), n_values = u.n, abs_error = u.abs, sq_error = u.sq,
         signed_error = u.signed, ape = u.ape, ape_values = u.ape_n
       FROM unnest($2::uuid[], $3::jsonb[], $4::int[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::int[])
            AS u(id, actual, n, abs, sq, signed, ape, ape_n)
       WHERE l.tenant_id = $1 AND l.id = u.id`,
      [
        tenantId,
        updates.map((u) => u.id),
        updates.map((u) => JSON.stringify(u.actual)),
        updates.map((u) => u.sums.values),
        updates.map((u) => u.sums.absError),
        updates.map((u) => u.sums.sqError),
        updates.map((u) => u.sums.signedError),
        updates.map((u) => u.sums.ape),
        updates.map((u) => u.sums.apeValues),
      ],
    );
  }

  /** Error sums per version of a model (and apart, per shadow version) over the predictions whose feedback arrived since `since`. */
  async sumQualityByVersion(tenantId: string, model: string, since: Date): Promise<VersionQualityRow[]> {
    const rows = (await this.dataSource.query(
      `SELECT version, shadow_of IS NOT NULL AS mirrored, count(*)::int AS count,
              COALESCE(sum(n_values), 0)::int AS values, COALESCE(sum(abs_error), 0)::float8 AS abs,
              COALESCE(sum(sq_error), 0)::float8 AS sq, COALESCE(sum(signed_error), 0)::float8 AS signed,
              COALESCE(sum(ape), 0)::float8 AS ape, COALESCE(sum(ape_values), 0)::int AS ape_n,
              min(feedback_at) AS first_at, max(feedback_at) AS last_at
         FROM prediction_log
        WHERE tenant_id = $1 AND model = $2 AND feedback_at IS NOT NULL AND feedback_at >= $3
        GROUP BY version, mirrored ORDER BY version`,
      [tenantId, model, since.toISOString()],
    )) as Array<{ version: number; mirrored: boolean; count: number; values: number; abs: number; sq: number; signed: number; ape: number; ape_n: number; first_at: Date; last_at: Date }>;
    return rows.map((r) => ({
      version: r.version,
      mirrored: r.mirrored,
      count: r.count,
      sums: { values: r.values, absError: r.abs, sqError: r.sq, signedError: r.signed, ape: r.ape, apeValues: r.ape_n },
      firstFeedbackAt: new Date(r.first_at),
      lastFeedbackAt: new Date(r.last_at),
    }));
  }

  async modelExists(tenantId: string, name: string): Promise<boolean> {
    const rows = (await this.dataSource.query(`SELECT 1 FROM models WHERE tenant_id = $1 AND name = $2`, [tenantId, name])) as unknown[];
    return rows.length > 0;
  }

  /** Tenant and name of models by id (mirror figures are kept by model id). */
  async findModelNames(ids: string[]): Promise<Map<string, { tenantId: string; name: string }>> {
    const valid = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
    if (!valid.length) return new Map();
    const rows = (await this.dataSource.query(`SELECT id, tenant_id AS "tenantId", name FROM models WHERE id = ANY($1::uuid[])`, [valid])) as Array<{ id: string; tenantId: string; name: string }>;
    return new Map(rows.map((r) => [r.id, { tenantId: r.tenantId, name: r.name }]));
  }

  /** A deleted model's log goes with it (a model registered again under the name starts clean). */
  async deleteModelPredictions(tenantId: string, model: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM prediction_log WHERE tenant_id = $1 AND model = $2`, [tenantId, model]);
  }

  /**
   * Deletes predictions older than `before`, in chunks so no statement holds many row locks;
   * rows another replica is purging at the same moment are skipped. Answers the rows deleted.
   */
  async purgePredictionsBefore(before: Date, maxChunks = 100): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxChunks; i++) {
      // TypeORM answers a DELETE with [rows, rowCount].
      const [, deleted] = (await this.dataSource.query(
        `WITH doomed AS (SELECT id FROM prediction_log WHERE created_at < $1 LIMIT ${PURGE_CHUNK} FOR UPDATE SKIP LOCKED)
         DELETE FROM prediction_log l USING doomed WHERE l.id = doomed.id`,
        [before.toISOString()],
      )) as [unknown[], number];
      total += deleted;
      if (deleted < PURGE_CHUNK) break;
    }
    return total;
  }
}
