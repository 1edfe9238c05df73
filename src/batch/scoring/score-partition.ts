import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type { TensorSpec } from '../../registry/artifact/artifact.types';
import { fixedBatch } from '../../registry/artifact/artifact.types';
import type { HostTensor } from '../../serving/tensor-codec';
import type { DataFormat } from '../batch-job-spec';
import type { RowError } from '../batch.types';
import { planFeeds } from '../feature-feeds';
import { kindOf, OutputColumn, rowEncoder } from '../io/output-format';
import { parseStagingRows } from '../io/staging';
import { outputLayouts } from '../output-columns';

/** Row errors kept per partition in the ledger (all are counted). */
export const MAX_ROW_ERRORS = 100;

/** The name of the error a predict rejects with when the runtime refused the rows' values (INFERENCE_FAILED). */
export const INFERENCE_REFUSED = 'InferenceRefused';

/**
 * Extra runtime calls one partition may spend finding the rows the runtime refuses (halving a
 * refused mini-batch until single rows): about 2 × log2(mini-batch) per bad row, so a few bad
 * rows cost little; a model that refuses most rows stops being searched and its refused
 * mini-batches fail whole, as they would have without the search.
 */
const ISOLATION_CALLS = 2_000;

/** Everything scoring one partition needs, as plain data (it crosses to a scoring thread). */
export interface ScoreTask {
  model: string;
  version: number;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
  features: readonly string[];
  passthrough: readonly string[];
  miniBatchSize: number;
  outputFormat: DataFormat;
  columns: readonly OutputColumn[];
  /** The partition's staging rows, and the attempt's own temporary file for the output. */
  inputFile: string;
  tempFile: string;
}

export interface PartitionResult {
  rowsOut: number;
  rowsFailed: number;
  bytesOut: number;
  checksum: string;
  rowErrors: RowError[];
  valueKinds: number[];
  columnsWritten: number;
}

/** Runs a mini-batch through the pinned version; answers its outputs in the order of `task.outputs`. */
export type Predict = (feeds: HostTensor[]) => Promise<HostTensor[]>;

/**
 * Scores one partition: reads its staging rows, runs them through the pinned version in
 * mini-batches, and writes the output rows to the attempt's own temporary file (removed if the
 * attempt fails; the caller renames it into place). The output depends only on the staging rows
 * and the pinned version, so any attempt writes the same bytes.
 */
export async function scorePartition(task: ScoreTask, predict: Predict): Promise<PartitionResult> {
  const feeds = planFeeds(task.model, task.version, task.inputs, task.features);
  const columns = task.columns;
  const index = new Map(columns.map((c, i) => [c.name, i]));
  const layouts = outputLayouts(task.outputs).map((l) => ({ ...l, at: l.columns.map((c) => index.get(c)!) }));
  const encode = rowEncoder(task.outputFormat, columns);
  const nPass = task.passthrough.length;
  const nFeat = task.features.length;
  const kinds = new Array<number>(nPass).fill(0);
  // A model exported with a fixed batch (torch.onnx.export without dynamic axes: [1, 6]) takes
  // exactly that many rows per call: mini-batches of that size, the last one padded.
  const fixedRows = fixedBatch(task.inputs);
  const batchRows = fixedRows ?? task.miniBatchSize;

  const out = await fsp.open(task.tempFile, 'w');
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

  const featuresOf = (rows: unknown[][]) => rows.map((r) => r.slice(1 + nPass, 1 + nPass + nFeat));
  const fail = (rows: unknown[][], message: string) => {
    rowsFailed += rows.length;
    const span = rows.length > 1 ? `rows ${rows[0][0]}–${rows[rows.length - 1][0]}: ` : '';
    if (rowErrors.length < MAX_ROW_ERRORS) rowErrors.push({ row: rows[0][0] as number, message: span + message });
  };
  let isolationCalls = 0;

  const runBatch = async (rows: unknown[][]) => {
    const built = feeds.build(featuresOf(rows));
    for (const bad of built.bad) fail([rows[bad.index]], bad.message);
    if (built.kept.length) await scoreRows(built.kept.map((k) => rows[k]), built.feeds);
  };

  /**
   * Runs rows whose values all converted and writes their output rows. When the runtime refuses
   * the values of some (a Gather index out of range, say), only those fail: the rows are halved
   * and each half run again, down to single rows, so one bad row does not cost its mini-batch
   * (or, as the partition's retries fail the same way, its partition). Other errors (a worker
   * restart, a load failure) fail the attempt, which is retried.
   */
  const scoreRows = async (rows: unknown[][], input: HostTensor[]): Promise<void> => {
    let outputs: HostTensor[];
    try {
      outputs = fixedRows !== null && rows.length < fixedRows ? await predictPadded(rows, fixedRows) : await predict(input);
    } catch (error) {
      const { name, message } = error as Error;
      if (name === 'StoppedError') throw error;
      if (name !== INFERENCE_REFUSED) throw new Error(`inference failed on rows ${rows[0][0]}–${rows[rows.length - 1][0]}: ${message}`, { cause: error });
      if (rows.length === 1 || isolationCalls + 2 > ISOLATION_CALLS) return fail(rows, `the model could not compute ${rows.length === 1 ? 'this row' : 'these rows'}: ${message}`);
      isolationCalls += 2;
      const half = Math.ceil(rows.length / 2);
      for (const part of [rows.slice(0, half), rows.slice(half)]) await scoreRows(part, feeds.build(featuresOf(part)).feeds);
      return;
    }
    writeRows(rows, outputs);
    await flush(false);
  };

  /** Runs fewer rows than the model's fixed batch: the first row repeated up to it, the outputs of the extra rows left out. */
  const predictPadded = async (rows: unknown[][], size: number): Promise<HostTensor[]> => {
    const padded = [...rows, ...new Array<unknown[]>(size - rows.length).fill(rows[0])];
    const outputs = await predict(feeds.build(featuresOf(padded)).feeds);
    return outputs.map((o) => {
      const per = o.data.length / size;
      return { ...o, dims: [rows.length, ...o.dims.slice(1)], data: o.data.slice(0, rows.length * per) as HostTensor['data'] };
    });
  };

  const writeRows = (rows: unknown[][], outputs: HostTensor[]) => {
    const n = rows.length;
    // A symbolic first dimension that did not come out as the rows (a sum over them, NonZero's
    // indices): its values cannot be told apart by row, and read as if they were, rows got others' values.
    const stray = outputs.find((t) => t.dims.length === 0 || t.dims[0] !== n);
    if (stray) throw new Error(`output '${stray.name}' came out with shape [${stray.dims.join(', ')}] for ${n} row(s), not one entry per row: batch output rows cannot hold it`);
    const values = new Array<unknown>(columns.length);
    for (let k = 0; k < n; k++) {
      const row = rows[k];
      values.fill(undefined);
      for (let p = 0; p < nPass; p++) {
        const v = row[1 + p];
        values[p] = v;
        kinds[p] |= kindOf(v);
      }
      values[nPass] = task.model;
      values[nPass + 1] = task.version;
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
  };

  try {
    // A partition is at most MMS_BATCH_PARTITION_ROWS rows: read it whole.
    const all = parseStagingRows(await fsp.readFile(task.inputFile, 'utf8'));
    for (let i = 0; i < all.length; i += batchRows) await runBatch(all.slice(i, i + batchRows));
    await flush(true);
    // No fsync here: a process kill keeps the page cache, and a file lost to a machine crash
    // fails its checksum at commit, which then scores that partition again.
    await out.close();
  } catch (error) {
    await out.close().catch(() => undefined);
    await fsp.rm(task.tempFile, { force: true });
    throw error;
  }
  return { rowsOut, rowsFailed, bytesOut: bytes, checksum: hash.digest('hex'), rowErrors, valueKinds: kinds, columnsWritten: columns.length };
}

function valueOf(tensor: HostTensor, i: number): unknown {
  const v = (tensor.data as ArrayLike<unknown>)[i];
  return tensor.type === 'bool' ? Boolean(v) : v;
}
