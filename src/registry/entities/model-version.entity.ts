import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { ArtifactFormat, ModelSignature } from '../artifact/artifact.types';
import { Labels } from './model.entity';

@Entity('model_versions')
export class ModelVersionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'model_id', type: 'uuid' })
  modelId: string;

  @Column({ type: 'integer' })
  version: number;

  /** SHA-256 of the artifact as uploaded (what the client can verify). */
  @Column({ type: 'char', length: 64 })
  sha256: string;

  @Column({ name: 'size_bytes', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  sizeBytes: number;

  /** The ONNX file the store keeps for it (what the storage quota counts, with sizeBytes); null for versions registered before it was kept. */
  @Column({ name: 'stored_bytes', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  storedBytes: number | null;

  @Column({ type: 'text' })
  format: ArtifactFormat;

  /** SHA-256 of the ONNX file the runtime loads, in the model store (= sha256 for a bare .onnx). */
  @Column({ name: 'model_sha256', type: 'char', length: 64 })
  modelSha256: string;

  @Column({ type: 'jsonb' })
  signature: ModelSignature;

  /** For MLflow artifacts: the flavor metadata and the MLmodel signature, if any. */
  @Column({ type: 'jsonb', nullable: true })
  mlflow: Record<string, unknown> | null;

  @Column({ type: 'jsonb', default: {} })
  tags: Labels;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;
}
