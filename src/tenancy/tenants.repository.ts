import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { TenantEntity } from './entities/tenant.entity';

export type TenantLimitsPatch = Partial<Pick<TenantEntity, 'maxModels' | 'maxArtifactBytes' | 'rateLimitPerSecond' | 'cacheShare' | 'maxRunningBatchJobs'>>;

/** Tenants are the root of isolation; only the root credential lists or creates them. */
@Injectable()
export class TenantsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts a tenant; null when the name is taken. */
  async createTenant(name: string): Promise<TenantEntity | null> {
    const rows = (await this.dataSource.query(
      'INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id',
      [name],
    )) as Array<{ id: string }>;
    return rows.length ? this.findTenantById(rows[0].id) : null;
  }

  listTenants(): Promise<TenantEntity[]> {
    return this.dataSource.manager.find(TenantEntity, { order: { name: 'ASC' } });
  }

  findTenantById(id: string): Promise<TenantEntity | null> {
    return this.dataSource.manager.findOneBy(TenantEntity, { id });
  }

  findTenantByName(name: string): Promise<TenantEntity | null> {
    return this.dataSource.manager.findOneBy(TenantEntity, { name });
  }

  async updateTenantLimits(id: string, patch: TenantLimitsPatch): Promise<void> {
    // A validated body names every limit, the ones not sent as undefined: `{}` changes nothing.
    const given = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    if (Object.keys(given).length) await this.dataSource.manager.update(TenantEntity, { id }, given);
  }

  /** Current usage against the quotas: model count and artifact bytes (per version the larger of the upload and the model stored). */
  async usageOf(tenantId: string, tx: EntityManager = this.dataSource.manager): Promise<{ models: number; artifactBytes: number }> {
    const [row] = (await tx.query(
      `SELECT (SELECT count(*) FROM models WHERE tenant_id = $1) AS models,
              (SELECT coalesce(sum(greatest(size_bytes, coalesce(stored_bytes, 0))), 0) FROM model_versions WHERE tenant_id = $1) AS bytes`,
      [tenantId],
    )) as Array<{ models: string; bytes: string }>;
    return { models: Number(row.models), artifactBytes: Number(row.bytes) };
  }

  /**
   * Holds the tenant's row until the transaction ends: quota checks and the inserts they allow run
   * one at a time. NO KEY UPDATE, not UPDATE: every tenant-scoped insert (an alias, an audit line)
   * takes KEY SHARE on this row for its foreign key, and one made under a model lock the upload
   * then waits for would deadlock with FOR UPDATE.
   */
  async lockTenant(tenantId: string, tx: EntityManager): Promise<void> {
    await tx.query('SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE', [tenantId]);
  }
}
