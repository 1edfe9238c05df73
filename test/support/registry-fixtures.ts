import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ModelSignature } from '../../src/registry/artifact/artifact.types';
import { NewVersion } from '../../src/registry/models.repository';

/** The signature of the tabular fixtures (float_input [N, 6] → variable [N, 1]). */
export const TABULAR_SIGNATURE: ModelSignature = {
  inputs: [{ name: 'float_input', type: 'float32', shape: ['N', 6] }],
  outputs: [{ name: 'variable', type: 'float32', shape: ['N', 1] }],
};

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A version row as the registry would append it, with a unique artifact unless told otherwise. */
export function newVersion(overrides: Partial<NewVersion> = {}): NewVersion {
  const sha256 = sha256Hex(randomUUID());
  return {
    sha256,
    sizeBytes: 1234,
    storedBytes: 1234,
    format: 'onnx',
    modelSha256: sha256,
    signature: TABULAR_SIGNATURE,
    mlflow: null,
    tags: {},
    description: null,
    createdBy: 'root',
    ...overrides,
  };
}

/** A tenant row of its own, so that a test sees only the models it registered. */
export async function createTenant(dataSource: DataSource, name = `tenant-${randomUUID()}`): Promise<string> {
  const [row] = (await dataSource.query('INSERT INTO tenants (name) VALUES ($1) RETURNING id', [name])) as Array<{ id: string }>;
  return row.id;
}
