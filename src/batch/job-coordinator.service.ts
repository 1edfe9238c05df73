import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { BatchRepository } from './batch.repository';
import { JobPhase, JobRow, JobStatus } from './batch.types';
import { BatchQueue, QUEUES } from './queue/batch-queue';

/**
 * What happens after a partition changes state, in the same transaction as the change: fail
 * the job once its failed rows pass errorThreshold, else hand out more partitions (at most
 * maxConcurrency in flight), else — every partition done — move the job to its commit.
 */
@Injectable()
export class JobCoordinator {
  private readonly logger = new Logger('BatchJobs');

  constructor(
    private readonly repository: BatchRepository,
    private readonly queue: BatchQueue,
  ) {}

  async advance(tx: EntityManager, tenantId: string, jobId: string): Promise<void> {
    const job = await this.repository.lockJobState(tx, tenantId, jobId);
    if (!job || job.status !== JobStatus.Running || job.phase !== JobPhase.Scoring) return;
    const threshold = job.spec.errorThreshold;
    if (threshold >= 0) {
      const failed = await this.repository.failedRows(tx, tenantId, jobId);
      if (failed > threshold) {
        const why = `${failed} row(s) failed, more than errorThreshold ${threshold}`;
        await this.repository.failJob(tx, tenantId, jobId, why);
        this.logger.warn(`job ${jobId} failed: ${why}`);
        return;
      }
    }
    const { open } = await this.dispatch(tx, job);
    if (!open) {
      await this.repository.setPhase(tx, tenantId, jobId, JobPhase.Committing);
      await this.queue.send(QUEUES.commit, { tenantId, jobId }, { tx });
    }
  }

  /**
   * Queues the next partitions of a job up to its maxConcurrency; answers how many, and whether
   * any partition is still pending or running. The job row must be locked in `tx`.
   */
  async dispatch(tx: EntityManager, job: Pick<JobRow, 'id' | 'tenantId' | 'spec'>): Promise<{ sent: number; open: boolean }> {
    const { taken, open } = await this.repository.takeDispatchable(tx, job.tenantId, job.id, job.spec.maxConcurrency);
    await this.queue.sendMany(
      QUEUES.partition,
      taken.map((t) => ({ data: { tenantId: job.tenantId, jobId: job.id, partitionId: t.id }, startAfterSeconds: t.delaySeconds })),
      tx,
    );
    return { sent: taken.length, open };
  }
}
