import { Injectable, Logger } from '@nestjs/common';
import * as fsp from 'node:fs/promises';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { inParallel } from '../common/in-parallel';
import { BatchInputs } from './batch-inputs';
import { BatchPaths } from './batch-paths';
import { BatchRepository } from './batch.repository';
import { JobRow, PinnedVersion, PlannedPartition } from './batch.types';
import { CsvStager, PlaceRow } from './io/csv-stager';
import { InputRows, missingColumnsMessage, openInput } from './io/input-reader';
import { firstRowNumbers, stagingJson } from './io/staging';
import { SpillWriter } from './io/spill-writer';
import { JobCoordinator } from './job-coordinator.service';
import { jobColumns } from './output-columns';
import { BatchPredictor } from './predictor/batch-predictor';
import { RoutePrefetcher } from './route-prefetcher';
import { jobAuth, RouteResolution, RouteResolver, rowReasonOfUnnamedRoute } from './route-resolver';
import { MAX_ROW_ERRORS } from './scoring/score-partition';
import { WorkLease } from './work-lease';

/** More partitions than this means the route column is not a model or segment (a row id, say). */
const MAX_PARTITIONS = 200_000;

interface OpenChunk {
  seq: number;
  rows: number;
  file: string;
}

/**
 * Planning: streams the input once, routes each row by its model column or segment columns,
 * and spills it into its partition's staging file (a partition is one route key, cut into
 * chunks of MMS_BATCH_PARTITION_ROWS rows). Then each route is resolved once and its version
 * pinned for the whole job, and the partitions enter the ledger in one transaction with the
 * first queue messages. A planner that dies is replaced by one that starts over (the staging
 * directory is wiped first), since nothing of a plan is visible before that transaction.
 */
@Injectable()
export class BatchPlanner {
  private readonly logger = new Logger('BatchPlanner');

  constructor(
    private readonly config: AppConfig,
    private readonly repository: BatchRepository,
    private readonly predictor: BatchPredictor,
    private readonly coordinator: JobCoordinator,
    private readonly paths: BatchPaths,
    private readonly inputs: BatchInputs,
  ) {}

  async plan(job: JobRow, owner: string, lease: WorkLease): Promise<void> {
    const { spec } = job;
    const began = performance.now();
    const staging = this.paths.stagingDir(job.tenantId, job.id);
    await fsp.rm(staging, { recursive: true, force: true });
    await fsp.mkdir(staging, { recursive: true });

    let inputPath: string;
    try {
      inputPath = await this.inputs.resolve(job.tenantId, spec.input.uri);
    } catch (error) {
      if (error instanceof DomainError) return this.fail(job, error.message);
      throw error;
    }
    // Routes resolve, and their models load, while the input is still being read — unless
    // resolving needs every key first (model names filtered by tags).
    const early = spec.route.by === 'segment' || !Object.keys(spec.route.tags ?? {}).length ? new RoutePrefetcher(await this.routeResolver(job, []), this.predictor, job.tenantId) : null;
    let recorded = false;
    try {
      recorded = await this.readAndRecord(job, owner, lease, inputPath, early, began);
    } finally {
      // Once the plan is recorded, the models not loaded yet keep loading ahead of their partitions.
      if (!recorded) early?.stop();
    }
  }

  /** Answers whether the plan was recorded (false: the job failed while planning, or lost its claim). */
  private async readAndRecord(job: JobRow, owner: string, lease: WorkLease, inputPath: string, early: RoutePrefetcher | null, began: number): Promise<boolean> {
    const { spec } = job;
    const routeColumns = spec.route.by === 'model' ? [spec.route.column] : spec.route.columns;
    const needed = [...routeColumns, ...spec.passthrough, ...spec.features];
    const partitions: PlannedPartition[] = [];
    const open = new Map<string, OpenChunk>();
    const maxRows = this.config.MMS_BATCH_PARTITION_ROWS;
    let rowNo = 0;
    /** The partition (staging file) the next row with this route key goes to; null past MAX_PARTITIONS. */
    const place = (key: string): { file: string; rowNo: number } | null => {
      let chunk = open.get(key);
      if (!chunk || chunk.rows >= maxRows) {
        const seq = partitions.length + 1;
        if (seq > MAX_PARTITIONS) return null;
        partitions.push({ seq, routeKey: key, chunk: chunk ? partitions[chunk.seq - 1].chunk + 1 : 0, rows: 0, model: null, version: null, error: null });
        if (!chunk) early?.add(key);
        chunk = { seq, rows: 0, file: this.paths.partitionInput(job.tenantId, job.id, seq) };
        open.set(key, chunk);
      }
      chunk.rows++;
      partitions[chunk.seq - 1].rows++;
      return { file: chunk.file, rowNo: ++rowNo };
    };
    const routeCount = routeColumns.length;
    const keyOf = (values: readonly unknown[]) => routeKeyOf(values, routeCount, spec.route.by);
    const spill = new SpillWriter();
    const input = spec.input.format === 'csv' ? await CsvStager.open(inputPath, needed) : await openInput(inputPath, spec.input.format, needed);
    let complete = false;
    try {
      if (input.missing.length) return this.failed(job, missingColumnsMessage(input.missing, input.columns));
      complete = input instanceof CsvStager ? await input.stage(routeCount, keyOf, place, spill, () => lease.check()) : await stageRows(input, routeCount, keyOf, place, spill, spec.input.format === 'parquet', () => lease.check());
      if (complete) await spill.flush(true);
    } finally {
      await input.close();
      // Nothing of this attempt may still be writing when the staging area is failed, wiped or replanned.
      if (!complete) await spill.settle();
    }
    if (!complete) return this.failed(job, `The input has more than ${MAX_PARTITIONS} routes: is '${routeColumns.join("', '")}' really a model name or segment?`);
    lease.check();
    const readMs = performance.now() - began;

    // One resolution per route; one pinned version per model for the whole job.
    const byKey = early ? await early.resolutions() : await this.resolveAll(job, [...new Set(partitions.map((p) => p.routeKey))], lease);
    lease.check();
    const pinned: Record<string, PinnedVersion> = {};
    const order: PinnedVersion[] = [];
    // Pins in partition order: the first version seen of a model is the one the whole job uses.
    for (const p of partitions) {
      let resolved = byKey.get(p.routeKey)!;
      if ('pin' in resolved) {
        const existing = pinned[resolved.pin.model];
        if (existing) resolved = { pin: existing };
        else {
          pinned[resolved.pin.model] = resolved.pin;
          order.push(resolved.pin);
        }
        p.model = resolved.pin.model;
        p.version = resolved.pin.version;
      } else p.error = resolved.error;
    }
    await this.listUnnamedRows(job, partitions, lease);
    const columns = jobColumns(spec.passthrough, spec.input.format, order);
    const resolveMs = performance.now() - began - readMs;
    // Partitions without a model keep their staging rows: a retry may find the model registered by then.

    const recorded = await this.repository.transaction(async (tx) => {
      const ok = await this.repository.finishPlanning(tx, job.tenantId, job.id, owner, { pinned, columns, rowsTotal: rowNo, partitionsTotal: partitions.length });
      if (!ok) return false;
      await this.repository.insertPartitions(tx, job.tenantId, job.id, partitions);
      await this.coordinator.advance(tx, job.tenantId, job.id);
      return true;
    });
    const ms = (v: number) => `${(v / 1000).toFixed(1)} s`;
    if (recorded) {
      this.logger.log(
        `job ${job.id}: ${rowNo} rows in ${partitions.length} partitions, ${order.length} model(s) pinned ` +
          `(read and spill ${ms(readMs)}, resolve ${ms(resolveMs)}, record ${ms(performance.now() - began - readMs - resolveMs)})`,
      );
    }
    return recorded;
  }

  /**
   * A partition that failed because its rows name nothing (lines that are not JSON objects, rows
   * without a model name or segment value) lists its first rows' numbers, read back from its
   * staging file: its route alone would not tell where in the input they are.
   */
  private async listUnnamedRows(job: JobRow, partitions: PlannedPartition[], lease: WorkLease): Promise<void> {
    for (const p of partitions) {
      const reason = p.error ? rowReasonOfUnnamedRoute(p.routeKey, job.spec.route) : null;
      if (!reason) continue;
      const rows = await firstRowNumbers(this.paths.partitionInput(job.tenantId, job.id, p.seq), MAX_ROW_ERRORS);
      p.rowErrors = rows.map((row) => ({ row, message: reason }));
      lease.check();
    }
  }

  private async resolveAll(job: JobRow, keys: string[], lease: WorkLease): Promise<Map<string, RouteResolution>> {
    const routes = await this.routeResolver(job, keys);
    const byKey = new Map<string, RouteResolution>();
    // A few lookups at a time: they wait on the database, not on this thread.
    await inParallel(keys, 8, async (key) => {
      byKey.set(key, await routes.resolve(key));
      lease.check();
    });
    return byKey;
  }

  /** Resolves routes now, as the job's submitter: the versions pinned are the ones serving would pick at this moment. */
  routeResolver(job: JobRow, keys: readonly string[]): Promise<RouteResolver> {
    return RouteResolver.prepare(this.repository, this.predictor, jobAuth(job), job.spec.route, keys);
  }

  private async failed(job: JobRow, message: string): Promise<false> {
    await this.fail(job, message);
    return false;
  }

  private async fail(job: JobRow, message: string): Promise<void> {
    await this.repository.failJob(this.repository.dataSource, job.tenantId, job.id, message);
    await fsp.rm(this.paths.stagingDir(job.tenantId, job.id), { recursive: true, force: true });
    this.logger.warn(`job ${job.id} failed while planning: ${message}`);
  }
}

/** Stages rows from the generic readers (JSONL, Parquet) as JSON lines; false when `place` stopped it. */
async function stageRows(input: InputRows, routeCount: number, keyOf: (values: readonly unknown[]) => string, place: PlaceRow, spill: SpillWriter, bigint: boolean, check: () => void): Promise<boolean> {
  for await (const batch of input.batches) {
    check();
    for (const row of batch) {
      const placed = place(keyOf(row));
      if (!placed) return false;
      const wait = spill.append(placed.file, stagingJson(placed.rowNo, row.slice(routeCount), bigint));
      if (wait) await wait;
    }
  }
  return true;
}

/** A model name, or the segment values as a JSON array (null where a row has none). */
function routeKeyOf(row: readonly unknown[], count: number, by: 'model' | 'segment'): string {
  if (by === 'model') {
    const v = row[0];
    return v === undefined || v === null ? '' : routeText(v);
  }
  const values: Array<string | null> = [];
  for (let i = 0; i < count; i++) {
    const v = row[i];
    values.push(v === undefined || v === null || v === '' ? null : routeText(v));
  }
  return JSON.stringify(values);
}

/**
 * A route value as text. A JSONL or Parquet array or object is written as the JSON it is: as
 * String() wrote it, `["m-a"]` read as the name `m-a` (and was scored by that model, where
 * /v1/predict refuses an array) and an object as `[object Object]`; as JSON it names no model
 * or segment, and its rows fail saying what the column held.
 */
function routeText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return String(v);
  return JSON.stringify(v, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));
}


/** Shown to clients: `demand-north-0042`, or `region=north, store=0042`. */
export function describeRouteKey(by: 'model' | 'segment', key: string, columns: readonly string[]): string {
  if (by === 'model') return key;
  try {
    const values = JSON.parse(key) as Array<string | null>;
    return columns.map((c, i) => `${c}=${values[i] ?? ''}`).join(', ');
  } catch {
    return key;
  }
}
