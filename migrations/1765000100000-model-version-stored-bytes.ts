import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a version takes in the model store: the ONNX file the runtime loads. For an MLflow zip it
 * is not the upload's size (`size_bytes`, the upload as sent): deflate shrinks a model of
 * repeated weights a thousandfold, and ONNX external data may name the same bytes many times, so
 * a small upload can store a model hundreds of MiB large. The storage quota counts the larger
 * of the two. Versions registered before have none: their upload size counts, as it did.
 */
export class ModelVersionStoredBytes1765000100000 implements MigrationInterface {
  name = 'ModelVersionStoredBytes1765000100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions ADD COLUMN stored_bytes bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE model_versions DROP COLUMN stored_bytes`);
  }
}
