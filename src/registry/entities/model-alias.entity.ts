import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity('model_aliases')
export class ModelAliasEntity {
  @PrimaryColumn({ name: 'model_id', type: 'uuid' })
  modelId: string;

  @PrimaryColumn({ type: 'text' })
  alias: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ type: 'integer' })
  version: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
