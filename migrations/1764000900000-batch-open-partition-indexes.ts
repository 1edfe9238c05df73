import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * After every completed batch of partitions, the coordinator counts the job's partitions in
 * flight (BatchRepository.takeDispatchable) and asks whether any is still open
 * (hasOpenPartitions). Through the (tenant_id, job_id) index both visited every partition of
 * the job — a thousand-store job read a thousand rows per step. These partial indexes hold only
 * the partitions those questions are about.
 */
export class BatchOpenPartitionIndexes1764000900000 implements MigrationInterface {
  name = 'BatchOpenPartitionIndexes1764000900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX batch_partitions_in_flight_idx ON batch_partitions (tenant_id, job_id) WHERE status = 'running' OR (status = 'pending' AND dispatched)`);
    await q.query(`CREATE INDEX batch_partitions_open_idx ON batch_partitions (tenant_id, job_id) WHERE status IN ('pending', 'running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX batch_partitions_open_idx`);
    await q.query(`DROP INDEX batch_partitions_in_flight_idx`);
  }
}
