import * as path from 'node:path';
import type { DataFormat } from './batch-job-spec';

/**
 * Where a job's files live, under the data directory (shared by every worker process):
 * `batch/<tenant>/<job>/staging/` holds the partition inputs (`in-000001.jsonl`) and outputs
 * (`out-000001.csv`, each renamed into place when its attempt completes), and each commit
 * is a directory `output-<n>/` (`output.<format>` + `manifest.json`) renamed from
 * `output-<n>.tmp/` in one step.
 */
export class BatchPaths {
  constructor(readonly dataDir: string) {}

  jobDir(tenantId: string, jobId: string): string {
    return path.join(this.dataDir, 'batch', tenantId, jobId);
  }

  stagingDir(tenantId: string, jobId: string): string {
    return path.join(this.jobDir(tenantId, jobId), 'staging');
  }

  partitionInput(tenantId: string, jobId: string, seq: number): string {
    return path.join(this.stagingDir(tenantId, jobId), `in-${pad(seq)}.jsonl`);
  }

  partitionOutput(tenantId: string, jobId: string, seq: number, format: DataFormat): string {
    return path.join(this.stagingDir(tenantId, jobId), `out-${pad(seq)}.${format === 'parquet' ? 'rows.jsonl' : format}`);
  }

  /** An attempt's own file: two attempts (a presumed-dead worker that was only slow) never write the same file. */
  partitionTemp(tenantId: string, jobId: string, seq: number, attempt: number, owner: string): string {
    return path.join(this.stagingDir(tenantId, jobId), `out-${pad(seq)}.a${attempt}.${owner.slice(0, 8)}.tmp`);
  }

  outputDir(tenantId: string, jobId: string, commit: number): string {
    return path.join(this.jobDir(tenantId, jobId), `output-${commit}`);
  }

  outputFile(format: DataFormat): string {
    return `output.${format}`;
  }

  /** A path as shown to clients: relative to the data directory. */
  relative(file: string): string {
    return path.relative(this.dataDir, file).split(path.sep).join('/');
  }

  absolute(relative: string): string {
    return path.join(this.dataDir, relative);
  }
}

function pad(seq: number): string {
  return String(seq).padStart(6, '0');
}
