import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a mirrored request's shadow version answered, logged beside the prediction the client got:
 * a row of its own whose `shadow_of` is that prediction's id (null for every prediction a client
 * got). An actual sent for the prediction scores its shadow too, so quality can show how the
 * shadow would have done against what really happened, before it serves anyone.
 */
export class PredictionLogShadowOf1765000400000 implements MigrationInterface {
  name = 'PredictionLogShadowOf1765000400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE prediction_log ADD COLUMN shadow_of uuid`);
    // Feedback for a prediction finds its shadows' rows.
    await q.query(`CREATE INDEX prediction_log_shadow_of_idx ON prediction_log (tenant_id, shadow_of) WHERE shadow_of IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX prediction_log_shadow_of_idx`);
    await q.query(`ALTER TABLE prediction_log DROP COLUMN shadow_of`);
  }
}
