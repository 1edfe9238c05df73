import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

const bigintAsNumber = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

@Entity('tenants')
export class TenantEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text', unique: true })
  name: string;

  /** Quotas and limits; null means the service-wide default (env). */
  @Column({ name: 'max_models', type: 'integer', nullable: true })
  maxModels: number | null;

  @Column({ name: 'max_artifact_bytes', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  maxArtifactBytes: number | null;

  @Column({ name: 'rate_limit_per_second', type: 'integer', nullable: true })
  rateLimitPerSecond: number | null;

  /** Largest fraction (0–1] of the session cache this tenant's models may hold. */
  @Column({ name: 'cache_share', type: 'real', nullable: true })
  cacheShare: number | null;

  /** Batch jobs of this tenant running at once (0 = no limit). */
  @Column({ name: 'max_running_batch_jobs', type: 'integer', nullable: true })
  maxRunningBatchJobs: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
