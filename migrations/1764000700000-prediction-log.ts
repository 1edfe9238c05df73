import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sampled prediction log: what a model answered (by predictionId, and by the caller's
 * routing key), and once feedback arrives, the actual and the error sums that quality adds up.
 */
export class PredictionLog1764000700000 implements MigrationInterface {
  name = 'PredictionLog1764000700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE prediction_log (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        model text NOT NULL,
        version integer NOT NULL,
        routing_key text,
        predicted jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        actual jsonb,
        feedback_at timestamptz,
        n_values integer,
        abs_error double precision,
        sq_error double precision,
        signed_error double precision,
        ape double precision,
        ape_values integer
      )`);
    // Retention purges by age.
    await q.query(`CREATE INDEX prediction_log_created_idx ON prediction_log (created_at)`);
    // Feedback by model and key finds the latest prediction for that key.
    await q.query(`CREATE INDEX prediction_log_key_idx ON prediction_log (tenant_id, model, routing_key, created_at DESC) WHERE routing_key IS NOT NULL`);
    // Quality sums one model's scored predictions over a window.
    await q.query(`CREATE INDEX prediction_log_feedback_idx ON prediction_log (tenant_id, model, feedback_at) WHERE feedback_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE prediction_log`);
  }
}
