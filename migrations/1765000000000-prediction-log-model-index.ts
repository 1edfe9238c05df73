import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deleting a model deletes its prediction log (PredictionLogRepository.deleteModelPredictions:
 * `WHERE tenant_id AND model`), which no index served (the two on the model are partial): every
 * deletion read the whole log, holding the embedded database's only connection for as long —
 * about 50 ms per 250,000 logged predictions, seconds at the default budget after a few days.
 */
export class PredictionLogModelIndex1765000000000 implements MigrationInterface {
  name = 'PredictionLogModelIndex1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX prediction_log_model_idx ON prediction_log (tenant_id, model)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX prediction_log_model_idx`);
  }
}
