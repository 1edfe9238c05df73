import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Labels } from '../registry/entities/model.entity';
import type { SegmentCandidate } from './segment-match';
import type { ServingModelRow } from './servable';

/**
 * Read-only queries of the serving path. Every query filters on the tenant: another tenant's
 * model is indistinguishable from a missing one. They run only on a resolution-cache miss.
 */
@Injectable()
export class ServingRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** A model with all its versions and aliases, in one round trip (one consistent snapshot). */
  async findServingModel(tenantId: string, name: string): Promise<ServingModelRow | null> {
    const rows = (await this.dataSource.query(`${SERVING_MODEL_SELECT} WHERE m.tenant_id = $1 AND m.name = $2`, [tenantId, name])) as Array<ServingModelRow>;
    return rows[0] ?? null;
  }

  /** Many models by name in one round trip (a batch job's routes); names not found are absent. */
  async findServingModels(tenantId: string, names: readonly string[]): Promise<ServingModelRow[]> {
    if (!names.length) return [];
    return (await this.dataSource.query(`${SERVING_MODEL_SELECT} WHERE m.tenant_id = $1 AND m.name = ANY($2::text[])`, [tenantId, names])) as Array<ServingModelRow>;
  }

  /**
   * Models whose whole segment is contained in the request's and that have a version to serve
   * (a model whose last version was deleted must not keep its segment from falling back). Any
   * such model holds at least one of the request's key/value pairs, so the OR of single-pair
   * containments lets the GIN index (jsonb_path_ops) find the candidates; `<@` then keeps the
   * true matches.
   */
  async findSegmentCandidates(tenantId: string, segment: Labels): Promise<SegmentCandidate[]> {
    const pairs = Object.entries(segment).map(([k, v]) => JSON.stringify({ [k]: v }));
    const params: unknown[] = [tenantId, JSON.stringify(segment), ...pairs];
    const any = pairs.map((_, i) => `m.segment @> $${i + 3}::jsonb`).join(' OR ');
    return (await this.dataSource.query(
      `SELECT m.name, m.segment FROM models m
       WHERE m.tenant_id = $1 AND (${any}) AND m.segment <@ $2::jsonb
         AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id)
       ORDER BY m.name`,
      params,
    )) as SegmentCandidate[];
  }
}

/** A model row with its versions and aliases aggregated (one consistent snapshot per model). */
const SERVING_MODEL_SELECT = `SELECT m.id, m.name, m.segment,
     COALESCE((SELECT json_agg(json_build_object(
                  'id', v.id, 'version', v.version, 'modelSha256', v.model_sha256,
                  'signature', v.signature, 'mlflow', v.mlflow) ORDER BY v.version)
               FROM model_versions v WHERE v.tenant_id = m.tenant_id AND v.model_id = m.id), '[]'::json) AS versions,
     COALESCE((SELECT json_object_agg(a.alias, a.version)
               FROM model_aliases a WHERE a.tenant_id = m.tenant_id AND a.model_id = m.id), '{}'::json) AS aliases
   FROM models m`;
