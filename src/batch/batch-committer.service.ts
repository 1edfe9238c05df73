import { Injectable, Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BatchPaths } from './batch-paths';
import { partitionView, routeOf } from './partition-view';
import { BatchRepository } from './batch.repository';
import { JobPhase, JobRow, PartitionRow, PartitionStatus } from './batch.types';
import { ChecksumMismatchError, fsyncDir, fsyncFile, OutputColumn, passthroughType, PartitionFile, writeFinalOutput } from './io/output-format';
import { JobCoordinator } from './job-coordinator.service';
import { WorkLease } from './work-lease';

/**
 * The commit: once every partition is done (succeeded, or failed within errorThreshold), the
 * partition files are concatenated in partition order into `output-<n>.tmp/output.<format>`,
 * checked against the ledger's checksums, the manifest is written beside it, both are fsynced,
 * and the directory is renamed to `output-<n>/` in one step. Only then does the job row say
 * succeeded. A committer killed at any point leaves either no `output-<n>/` (the next one
 * starts over) or a complete one (the next one only records it).
 */
@Injectable()
export class BatchCommitter {
  private readonly logger = new Logger('BatchCommitter');

  constructor(
    private readonly repository: BatchRepository,
    private readonly coordinator: JobCoordinator,
    private readonly paths: BatchPaths,
  ) {}

  async commit(job: JobRow, owner: string, lease: WorkLease): Promise<void> {
    const { tenantId, id, spec } = job;
    const partitions = await this.repository.listPartitions(this.repository.dataSource, tenantId, id);
    if (partitions.some((p) => p.status === PartitionStatus.Pending || p.status === PartitionStatus.Running)) {
      // Not everything is done after all (a retry reopened partitions): back to scoring.
      await this.repository.transaction(async (tx) => {
        await this.repository.setPhase(tx, tenantId, id, JobPhase.Scoring);
        await this.coordinator.advance(tx, tenantId, id);
      });
      return;
    }
    const failedRows = partitions.reduce((sum, p) => sum + p.rowsFailed, 0);
    if (spec.errorThreshold >= 0 && failedRows > spec.errorThreshold) {
      await this.repository.failJob(this.repository.dataSource, tenantId, id, `${failedRows} row(s) failed, more than errorThreshold ${spec.errorThreshold}`);
      return;
    }
    const seq = job.commitSeq + 1;
    const finalDir = this.paths.outputDir(tenantId, id, seq);
    const outputName = this.paths.outputFile(spec.output.format);
    const columns = this.finalColumns(job, partitions);
    const succeeded = partitions.filter((p) => p.status === PartitionStatus.Succeeded);
    let outputRows = succeeded.reduce((sum, p) => sum + (p.rowsOut ?? 0), 0);

    if (!fs.existsSync(path.join(finalDir, 'manifest.json'))) {
      const tempDir = `${finalDir}.tmp`;
      await fsp.rm(tempDir, { recursive: true, force: true });
      await fsp.mkdir(tempDir, { recursive: true });
      const files: PartitionFile[] = succeeded.map((p) => ({
        path: this.paths.partitionOutput(tenantId, id, p.seq, spec.output.format),
        columnCount: this.columnCountOf(job, p),
        checksum: p.checksum ?? '',
        rows: p.rowsOut ?? 0,
      }));
      try {
        outputRows = await writeFinalOutput(spec.output.format, path.join(tempDir, outputName), columns, files);
      } catch (error) {
        if (error instanceof ChecksumMismatchError || (error as NodeJS.ErrnoException).code === 'ENOENT') return this.rerunDamaged(job, succeeded, files, error as Error);
        throw error;
      }
      lease.check();
      const manifest = this.manifest(job, seq, partitions, columns, outputName, outputRows, failedRows);
      await fsp.writeFile(path.join(tempDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
      await fsyncFile(path.join(tempDir, 'manifest.json'));
      await fsyncDir(tempDir);
      lease.check();
      await fsp.rename(tempDir, finalDir);
      await fsyncDir(path.dirname(finalDir));
    }
    const recorded = await this.repository.finishCommit(this.repository.dataSource, tenantId, id, owner, {
      seq,
      outputPath: this.paths.relative(path.join(finalDir, outputName)),
      outputRows,
    });
    if (!recorded) return;
    this.logger.log(`job ${id} committed: ${outputRows} rows in ${this.paths.relative(finalDir)}`);
    // Earlier commits (before a retry) and, when nothing failed, the staging area are no longer needed.
    for (let n = 1; n < seq; n++) await fsp.rm(this.paths.outputDir(tenantId, id, n), { recursive: true, force: true });
    if (failedRows === 0 && partitions.every((p) => p.status === PartitionStatus.Succeeded)) {
      await fsp.rm(this.paths.stagingDir(tenantId, id), { recursive: true, force: true });
    }
  }

  /** Passthrough columns of JSONL/parquet inputs are typed from the values the partitions saw. */
  private finalColumns(job: JobRow, partitions: PartitionRow[]): OutputColumn[] {
    const columns = job.columns ?? [];
    return columns.map((c, i) => {
      if (c.type !== 'passthrough') return c;
      let kinds = 0;
      for (const p of partitions) kinds |= p.valueKinds?.[i] ?? 0;
      return { name: c.name, type: passthroughType(kinds) };
    });
  }

  /** How many of the job's columns a partition was written with (outputs of later-pinned models are appended). */
  private columnCountOf(job: JobRow, partition: PartitionRow): number {
    return partition.columnsWritten ?? (job.columns ?? []).length;
  }

  private async rerunDamaged(job: JobRow, succeeded: PartitionRow[], files: PartitionFile[], error: Error): Promise<void> {
    const damaged = succeeded.filter((p, i) => !fs.existsSync(files[i].path) || error.message.includes(files[i].path));
    this.logger.error(`job ${job.id}: ${error.message}; scoring ${damaged.length} partition(s) again`);
    await this.repository.transaction(async (tx) => {
      for (const p of damaged) await this.repository.rerunPartition(tx, job.tenantId, p.id, `output file damaged or missing at commit; scored again`);
      await this.repository.setPhase(tx, job.tenantId, job.id, JobPhase.Scoring);
      await this.coordinator.advance(tx, job.tenantId, job.id);
    });
  }

  private manifest(job: JobRow, seq: number, partitions: PartitionRow[], columns: OutputColumn[], outputName: string, outputRows: number, failedRows: number) {
    const { spec } = job;
    return {
      jobId: job.id,
      tenantId: job.tenantId,
      commit: seq,
      committedAt: new Date().toISOString(),
      input: { uri: spec.input.uri, format: spec.input.format, rows: job.rowsTotal },
      route: spec.route,
      output: { file: outputName, format: spec.output.format, rows: outputRows, columns },
      modelVersions: Object.fromEntries(Object.values(job.pinned).map((p) => [p.model, p.version])),
      errorThreshold: spec.errorThreshold,
      failedRows,
      partitions: partitions.map((p) => ({ seq: p.seq, ...partitionView(p, spec), rowsOut: p.rowsOut ?? 0, checksum: p.checksum })),
      errors: partitions
        .filter((p) => p.status === PartitionStatus.Failed || p.rowsFailed > 0)
        .map((p) => ({
          partition: p.seq,
          route: routeOf(p, spec),
          model: p.model,
          rowsFailed: p.rowsFailed,
          error: p.error,
          rows: p.rowErrors ?? undefined,
        })),
    };
  }
}
