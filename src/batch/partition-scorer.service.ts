import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import * as fsp from 'node:fs/promises';
import { AppConfig } from '../config/app-config';
import { BatchPaths } from './batch-paths';
import { JobForScoring, PartitionRow } from './batch.types';
import { planFeeds } from './feature-feeds';
import { outputsNotPerRow, servableOf } from './output-columns';
import { BatchPredictor } from './predictor/batch-predictor';
import { PartitionResult } from './scoring/score-partition';
import { ScoringPool } from './scoring/scoring-pool';
import { PermanentError, WorkLease } from './work-lease';

export type { PartitionResult } from './scoring/score-partition';

/**
 * Scores one partition on a scoring thread (MMS_BATCH_SCORING_THREADS): the per-row work
 * happens there, each mini-batch comes back to run through the pinned version on serving's
 * inference workers, and the lease is checked before every mini-batch and before the attempt's
 * own temporary file is renamed to the partition's output; the ledger (fenced by attempt
 * number) records exactly one attempt.
 */
@Injectable()
export class PartitionScorer implements OnApplicationShutdown {
  private readonly pool: ScoringPool;

  constructor(
    config: AppConfig,
    private readonly predictor: BatchPredictor,
    private readonly paths: BatchPaths,
  ) {
    // As much staging in memory as two partitions of the largest size per thread.
    this.pool = new ScoringPool(config.MMS_BATCH_SCORING_THREADS, 2 * config.MMS_BATCH_SCORING_THREADS * config.MMS_BATCH_PARTITION_ROWS, { nice: config.MMS_WORKER_NICE });
  }

  async score(job: JobForScoring, partition: PartitionRow, owner: string, lease: WorkLease): Promise<PartitionResult> {
    const { spec, columns } = job;
    const pinned = partition.model ? job.pinned[partition.model] : undefined;
    if (!pinned || !columns) throw new PermanentError(`no pinned version for model '${partition.model}'`);
    const version = servableOf(job.tenantId, pinned);
    try {
      planFeeds(version.model, version.version, version.signature.inputs, spec.features);
    } catch (error) {
      throw new PermanentError((error as Error).message);
    }
    // Another attempt would answer the same shapes: failed at once, as for features that do not fit.
    const notPerRow = outputsNotPerRow(version.signature.inputs, version.outputs);
    if (notPerRow.length) {
      const shown = notPerRow.map((o) => `'${o.name}' [${o.shape.map((d) => d ?? '?').join(', ')}]`).join(', ');
      throw new PermanentError(
        `model '${version.model}' version ${version.version} answers ${shown}, not one entry per row: batch output rows cannot hold ${notPerRow.length > 1 ? 'them' : 'it'} (score such a model with /v1/predict)`,
      );
    }
    const task = {
      model: version.model,
      version: version.version,
      inputs: version.signature.inputs,
      outputs: version.outputs,
      features: spec.features,
      passthrough: spec.passthrough,
      miniBatchSize: spec.miniBatchSize,
      outputFormat: spec.output.format,
      columns,
      inputFile: this.paths.partitionInput(job.tenantId, job.id, partition.seq),
      tempFile: this.paths.partitionTemp(job.tenantId, job.id, partition.seq, partition.attempt, owner),
    };
    const result = await this.pool.score(
      task,
      async (feeds) => {
        lease.check();
        return this.predictor.predict(version, feeds);
      },
      partition.rowsIn,
    );
    try {
      lease.check();
      await fsp.rename(task.tempFile, this.paths.partitionOutput(job.tenantId, job.id, partition.seq, spec.output.format));
    } catch (error) {
      await fsp.rm(task.tempFile, { force: true });
      throw error;
    }
    return result;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.close();
  }
}
