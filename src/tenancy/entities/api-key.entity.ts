import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { KeyRole } from '../../auth/auth-context';

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  /** Non-secret lookup part of the key (`mmsk_<prefix>_<secret>`). */
  @Column({ type: 'text', unique: true })
  prefix: string;

  /** SHA-256 of the secret part: keys are 256-bit random, so a fast hash is enough. */
  @Column({ name: 'secret_sha256', type: 'char', length: 64 })
  secretSha256: string;

  @Column({ type: 'text' })
  role: KeyRole;

  /** Model-name globs a scorer is limited to; null = every model of the tenant. */
  @Column({ type: 'text', array: true, nullable: true })
  models: string[] | null;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;
}
