import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type { HostTensor } from '../serving/tensor-codec';
import { BatchPaths } from './batch-paths';
import { JobRow, PartitionRow, RowError } from './batch.types';
import { planFeeds } from './feature-feeds';
import { kindOf, rowEncoder } from './io/output-format';
import { outputLayouts, servableOf } from './output-columns';
import { BatchPredictor } from './predictor/batch-predictor';
import { PermanentError, WorkLease } from './work-lease';

/** Row errors kept per partition in the ledger (all are counted). */
const MAX_ROW_ERRORS = 100;

export interface PartitionResult {
  rowsOut: number;
  rowsFailed: number;
  bytesOut: number;
  checksum: string;
  rowErrors: RowError[];
  valueKinds: number[];
  columnsWritten: number;
}

/**
 * Scores one partition: reads its staging rows, runs them through the pinned version in
 * mini-batches, and writes the output rows to the attempt's own temporary file, which is
 * fsynced and renamed to the partition's output file only when complete. The output depends
 * only on the staging rows and the pinned version, so any attempt writes the same bytes and the
 * ledger (fenced by attempt number) records exactly one of them.
 */
@Injectable()
export class PartitionScorer {
  constructor(
    private readonly predictor: BatchPredictor,
    private readonly paths: BatchPaths,
  ) {}

  async score(job: JobRow, partition: PartitionRow, owner: string, lease: WorkLease): Promise<PartitionResult> {
    const { spec } = job;
    const pinned = partition.model ? job.pinned[partition.model] : undefined;
    if (!pinned || !job.columns) throw new PermanentError(`no pinned version for model '${partition.model}'`);
    const version = servableOf(job.tenantId, pinned);
    let feeds;
    try {
      feeds = planFeeds(version.model, version.version, version.signature.inputs, spec.features);
    } catch (error) {
      throw new PermanentError((error as Error).message);
    }
    const columns = job.columns;
    const index = new Map(columns.map((c, i) => [c.name, i]));
    const layouts = outputLayouts(version.outputs).map((l) => ({ ...l, at: l.columns.map((c) => index.get(c)!) }));
    const encode = rowEncoder(spec.output.format, columns);
    const nPass = spec.passthrough.length;
    const nFeat = spec.features.length;
    const kinds = new Array<number>(nPass).fill(0);

    const input = this.paths.partitionInput(job.tenantId, job.id, partition.seq);
    const temp = this.paths.partitionTemp(job.tenantId, job.id, partition.seq, partition.attempt, owner);
    const final = this.paths.partitionOutput(job.tenantId, job.id, partition.seq, spec.output.format);
    const out = await fsp.open(temp, 'w');
    const hash = createHash('sha256');
    let bytes = 0;
    let rowsOut = 0;
    let rowsFailed = 0;
    const rowErrors: RowError[] = [];
    let pending = '';
    const flush = async (force: boolean) => {
      if (!pending || (!force && pending.length < 1 << 20)) return;
      const buffer = Buffer.from(pending, 'utf8');
      pending = '';
      hash.update(buffer);
      bytes += buffer.length;
      await out.write(buffer);
    };

    const runBatch = async (rows: unknown[][]) => {
      lease.check();
      const features = rows.map((r) => r.slice(1 + nPass, 1 + nPass + nFeat));
      const built = feeds.build(features);
      for (const bad of built.bad) {
        rowsFailed++;
        if (rowErrors.length < MAX_ROW_ERRORS) rowErrors.push({ row: rows[bad.index][0] as number, message: bad.message });
      }
      if (!built.kept.length) return;
      let outputs: HostTensor[];
      try {
        outputs = await this.predictor.predict(version, built.feeds);
      } catch (error) {
        throw new Error(`inference failed on rows ${rows[0][0]}–${rows[rows.length - 1][0]}: ${(error as Error).message}`, { cause: error });
      }
      const n = built.kept.length;
      const values = new Array<unknown>(columns.length);
      for (let k = 0; k < n; k++) {
        const row = rows[built.kept[k]];
        values.fill(undefined);
        for (let p = 0; p < nPass; p++) {
          const v = row[1 + p];
          values[p] = v;
          kinds[p] |= kindOf(v);
        }
        values[nPass] = version.model;
        values[nPass + 1] = version.version;
        for (let o = 0; o < layouts.length; o++) {
          const layout = layouts[o];
          const tensor = outputs[o];
          const per = tensor.data.length / n;
          if (layout.perRow !== null && per === layout.perRow) {
            for (let j = 0; j < per; j++) values[layout.at[j]] = valueOf(tensor, k * per + j);
          } else {
            const arr: unknown[] = [];
            for (let j = 0; j < per; j++) arr.push(valueOf(tensor, k * per + j));
            values[layout.at[0]] = layout.perRow === null ? arr : JSON.stringify(arr, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
          }
        }
        pending += encode(values);
      }
      rowsOut += n;
      await flush(false);
    };

    try {
      // A partition is at most MMS_BATCH_PARTITION_ROWS rows: read it whole and parse its lines
      // (JSON arrays, one per row) as one JSON array, far faster than line by line.
      const text = (await fsp.readFile(input, 'utf8')).trimEnd();
      const all = text ? (JSON.parse(`[${text.replace(/\n/g, ',')}]`, text.includes('"$bigint"') ? bigintReviver : undefined) as unknown[][]) : [];
      let batch: unknown[][] = [];
      for (let i = 0; i < all.length; i += spec.miniBatchSize) {
        batch = all.slice(i, i + spec.miniBatchSize);
        await runBatch(batch);
      }
      batch = [];
      if (batch.length) await runBatch(batch);
      await flush(true);
      // No fsync here: a process kill keeps the page cache, and a file lost to a machine crash
      // fails its checksum at commit, which then scores that partition again.
      await out.close();
    } catch (error) {
      await out.close().catch(() => undefined);
      await fsp.rm(temp, { force: true });
      throw error;
    }
    lease.check();
    await fsp.rename(temp, final);
    return { rowsOut, rowsFailed, bytesOut: bytes, checksum: hash.digest('hex'), rowErrors, valueKinds: kinds, columnsWritten: columns.length };
  }
}

function valueOf(tensor: HostTensor, i: number): unknown {
  const v = (tensor.data as ArrayLike<unknown>)[i];
  return tensor.type === 'bool' ? Boolean(v) : v;
}

function bigintReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$bigint' in value) return BigInt((value as { $bigint: string }).$bigint);
  return value;
}
