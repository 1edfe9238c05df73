import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Handing out a job's next partitions (BatchRepository.takeDispatchable) runs after every
 * completed batch of partitions; without this index it sorted all of a job's pending
 * partitions each time (quadratic in the number of partitions: thousands of stores).
 */
export class BatchDispatchIndex1764000800000 implements MigrationInterface {
  name = 'BatchDispatchIndex1764000800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX batch_partitions_undispatched_idx ON batch_partitions (tenant_id, job_id, seq) WHERE status = 'pending' AND NOT dispatched`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX batch_partitions_undispatched_idx`);
  }
}
