import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('audit_log')
export class AuditEntryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  /** Null for service-wide actions (creating a tenant). */
  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  @Column({ type: 'text' })
  principal: string;

  /** `model.version.create`, `model.alias.set`, `key.revoke`, … */
  @Column({ type: 'text' })
  action: string;

  /** What was acted on: `models/demand-north/versions/3`, `keys/<id>`, … */
  @Column({ type: 'text' })
  target: string;

  @Column({ type: 'jsonb', default: {} })
  details: Record<string, unknown>;
}
