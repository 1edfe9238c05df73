import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first output of a logged prediction with several, by the model's order: `predicted` is
 * jsonb, which keeps object keys sorted (shorter first, then bytewise), not in the order the
 * model answered them, and feedback pairs an unnamed actual with the model's first output.
 * Null for a prediction with one output, and for rows logged before (their first key serves).
 */
export class PredictionLogFirstOutput1765000300000 implements MigrationInterface {
  name = 'PredictionLogFirstOutput1765000300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE prediction_log ADD COLUMN first_output text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE prediction_log DROP COLUMN first_output`);
  }
}
