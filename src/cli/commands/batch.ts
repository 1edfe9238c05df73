import { Command, Option } from 'commander';
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { seg } from '../api-client';
import { parseInteger, parseList, parsePositiveInt, readJsonArgument } from '../args';
import { CommandContext, contextOf, GlobalOptions } from '../context';
import { CliError, usageError } from '../errors';
import { json, labels, table, time } from '../output';
import { createProgress, parseProgressMode, ProgressMode } from '../progress';

/** What GET /v1/batch-jobs/{id} answers (the fields the CLI reads; the rest is printed with --json). */
export interface BatchJobView {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  phase?: string;
  progress?: {
    partitions?: { total?: number; pending?: number; running?: number; succeeded?: number; failed?: number; cancelled?: number };
    rows?: { total?: number | null; done?: number; succeeded?: number; failed?: number };
  };
  output?: unknown;
  error?: string | null;
  errors?: unknown[];
  /** How many partitions have errors; `errors` lists the first ones only. */
  errorsTotal?: number;
  createdAt?: string;
  finishedAt?: string | null;
  [key: string]: unknown;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

interface SubmitFlags {
  input?: string;
  inputFormat?: string;
  routeModel?: string;
  routeSegment?: string;
  features?: string;
  passthrough?: string;
  outputFormat?: string;
  miniBatchSize?: string;
  maxConcurrency?: string;
  errorThreshold?: string;
  maxRetries?: string;
  watch?: boolean;
  interval: string;
  progress: string;
}

export function batchCommands(program: Command): void {
  const batch = program.command('batch').description('batch inference jobs over files in the data directory');

  batch
    .command('submit')
    .description('submit a batch job (POST /v1/batch-jobs) from a JSON body, flags, or both (flags win)')
    .argument('[body]', 'job body: a JSON file (or - for stdin)')
    .option('--input <uri>', 'input file, relative to the server\'s data directory (e.g. demo/sales.csv)')
    .option('--input-format <format>', 'csv, jsonl or parquet (default: from the file name)')
    .option('--route-model <column>', 'route each row to the model named in this column')
    .option('--route-segment <columns>', 'route each row by these segment columns, e.g. region,store')
    .option('--features <columns>', 'feature columns in the model\'s input order, comma-separated')
    .option('--passthrough <columns>', 'columns copied to the output, comma-separated')
    .option('--output-format <format>', 'csv, jsonl or parquet (default: the input\'s)')
    .option('--mini-batch-size <n>', 'rows per inference call')
    .option('--max-concurrency <n>', 'partitions in flight at once')
    .option('--error-threshold <n>', 'failed rows tolerated before the job fails (-1: any)')
    .option('--max-retries <n>', 'tries of a failing partition')
    .option('--watch', 'show progress until the job ends; exit 0 if every row scored, 3 if it succeeded with failed rows, 1 if it failed or was cancelled')
    .option('--interval <ms>', 'polling interval with --watch', '500')
    .addOption(new Option('--progress <mode>', 'with --watch: auto (a bar on a terminal, lines otherwise)').choices(['auto', 'bar', 'lines', 'none']).default('auto'))
    .addHelpText(
      'after',
      `
Examples:
  mms batch submit data/demo/batch-job.json --watch
  mms batch submit --input demo/sales.csv --route-segment region,store \\
    --features day_of_week,promo,price,lag_7,lag_28,temperature --passthrough store,date --watch`,
    )
    .action(async (bodyFile: string | undefined, flags: SubmitFlags, command: Command) => {
      const ctx = contextOf(command);
      const body = buildJobBody(bodyFile, flags);
      const job = await ctx.api.request<BatchJobView>('POST', '/v1/batch-jobs', { json: body });
      if (!flags.watch) {
        ctx.io.out(ctx.json ? json(job) : `Submitted batch job ${job.id} (${job.status}). Follow it with: mms batch watch ${job.id}${sameTarget(ctx.options)}\n`);
        return;
      }
      if (!ctx.json) ctx.io.err(`Submitted batch job ${job.id}\n`);
      await watchJob(ctx, job.id, flags);
    });

  batch
    .command('watch')
    .description('show a job\'s progress until it ends; exit 0 if every row scored, 3 if it succeeded with failed rows, 1 if it failed or was cancelled')
    .argument('<id>')
    .option('--interval <ms>', 'polling interval', '500')
    .addOption(new Option('--progress <mode>', 'auto: a bar on a terminal, lines otherwise').choices(['auto', 'bar', 'lines', 'none']).default('auto'))
    .action(async (id: string, flags: { interval: string; progress: string }, command: Command) => {
      await watchJob(contextOf(command), id, flags);
    });

  batch
    .command('show')
    .alias('status')
    .description('a job\'s status, progress, errors and output location; a finished job exits as with --watch (0, 3 or 1)')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      const job = await ctx.api.request<BatchJobView>('GET', `/v1/batch-jobs/${seg(id)}`);
      ctx.io.out(ctx.json ? json(job) : describeJob(job, sameTarget(ctx.options)));
      exitWithOutcome(job);
    });

  batch
    .command('output')
    .description('download a committed job\'s output')
    .argument('<id>')
    .option('-o, --out <file>', 'write to this file instead of standard output')
    .action(async (id: string, opts: { out?: string }, command: Command) => {
      const ctx = contextOf(command);
      const response = await ctx.api.send('GET', `/v1/batch-jobs/${seg(id)}/output`, { headers: { accept: '*/*' } });
      if (!response.body) return;
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), opts.out ? fs.createWriteStream(opts.out) : process.stdout);
      if (opts.out) ctx.io.err(`Wrote ${opts.out}\n`);
    });

  batch
    .command('delete')
    .alias('rm')
    .description('delete a finished job with its output and staging files (cancel a running one first)')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      await ctx.api.request('DELETE', `/v1/batch-jobs/${seg(id)}`);
      ctx.io.out(ctx.json ? json({ id, deleted: true }) : `Deleted batch job ${id}\n`);
    });

  for (const [name, what] of [
    ['cancel', 'cancel a queued or running job'],
    ['retry', 'run the failed and cancelled partitions of a failed, cancelled or partly failed job again (routes without a model are resolved again)'],
  ] as const) {
    batch
      .command(name)
      .description(what)
      .argument('<id>')
      .action(async (id: string, _opts: unknown, command: Command) => {
        const ctx = contextOf(command);
        const job = await ctx.api.request<BatchJobView>('POST', `/v1/batch-jobs/${seg(id)}/${name}`);
        ctx.io.out(ctx.json ? json(job ?? { id }) : `Job ${id}: ${job?.status ?? `${name} requested`}\n`);
      });
  }
}

export function buildJobBody(bodyFile: string | undefined, flags: SubmitFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (bodyFile) {
    const parsed = readJsonArgument('body', bodyFile === '-' ? '-' : `@${bodyFile}`);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw usageError(`${bodyFile} must hold a JSON object (a POST /v1/batch-jobs body)`);
    Object.assign(body, parsed);
  }
  if (flags.input || flags.inputFormat) {
    const input = { ...(body.input as object | undefined) } as Record<string, unknown>;
    if (flags.input) input.uri = flags.input;
    if (flags.inputFormat) input.format = flags.inputFormat;
    body.input = input;
  }
  if (flags.routeModel && flags.routeSegment) throw usageError('Give --route-model or --route-segment, not both');
  if (flags.routeModel) body.route = { by: 'model', column: flags.routeModel };
  if (flags.routeSegment) body.route = { by: 'segment', columns: parseList(flags.routeSegment) };
  if (flags.features) body.features = parseList(flags.features);
  if (flags.passthrough) body.passthrough = parseList(flags.passthrough);
  if (flags.outputFormat) body.output = { ...(body.output as object | undefined), format: flags.outputFormat };
  if (flags.miniBatchSize) body.miniBatchSize = parsePositiveInt('--mini-batch-size', flags.miniBatchSize);
  if (flags.maxConcurrency) body.maxConcurrency = parsePositiveInt('--max-concurrency', flags.maxConcurrency);
  if (flags.errorThreshold) body.errorThreshold = parseInteger('--error-threshold', flags.errorThreshold);
  if (flags.maxRetries) body.maxRetries = parseInteger('--max-retries', flags.maxRetries);
  if (!body.input) throw usageError('No input: give a job body file, or --input <uri> (with --route-model/--route-segment and --features)');
  return body;
}

/** Polls the job until it ends, with a progress bar of rows (or partitions) done. */
async function watchJob(ctx: CommandContext, id: string, flags: { interval: string; progress: string }): Promise<void> {
  const interval = parsePositiveInt('--interval', flags.interval);
  const mode: ProgressMode = ctx.json && flags.progress === 'auto' ? 'none' : parseProgressMode(flags.progress);
  const progress = createProgress(mode, 'rows');
  let job: BatchJobView;
  let lastLine = '';
  for (;;) {
    job = await ctx.api.request<BatchJobView>('GET', `/v1/batch-jobs/${seg(id)}`);
    const { done, total, unit } = doneOf(job);
    const label = `${job.status}${job.phase && job.phase !== job.status ? ` (${job.phase})` : ''}`;
    const line = `${time(new Date().toISOString())}  ${label}  ${total ? `${done}/${total} ${unit}` : ''}`.trimEnd();
    // Lines mode prints only when something changed, so a log shows each step once.
    const changed = line.slice(20) !== lastLine.slice(20);
    progress.update(done, Math.max(total, done, 1), label, changed ? line : undefined);
    lastLine = line;
    if (FINAL.has(job.status)) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  progress.stop();
  if (ctx.json) ctx.io.out(json(job));
  else ctx.io.out(describeJob(job, sameTarget(ctx.options)));
  exitWithOutcome(job);
}

/** Rows done of total when the job knows them, else partitions. */
function doneOf(job: BatchJobView): { done: number; total: number; unit: string } {
  const rows = job.progress?.rows;
  if (rows?.total) return { done: rows.done ?? 0, total: rows.total, unit: 'rows' };
  const p = job.progress?.partitions;
  if (p?.total) return { done: (p.succeeded ?? 0) + (p.failed ?? 0) + (p.cancelled ?? 0), total: p.total, unit: 'partitions' };
  return { done: 0, total: 0, unit: 'rows' };
}

/** Failed partitions and partitions that left rows out, as GET /v1/batch-jobs/{id} lists them. */
interface PartitionErrorView {
  partition?: number;
  route?: unknown;
  model?: string | null;
  version?: number | null;
  status?: string;
  rowsFailed?: number;
  error?: string | null;
  message?: string;
  rows?: Array<{ row?: number; message?: string }>;
}

/** Partitions listed in the table; the rest are counted (all are in --json and the manifest). */
const PARTITIONS_SHOWN = 20;
/** Row-level reasons printed per partition: enough to see why, short enough to read. */
const ROW_REASONS_SHOWN = 3;

/**
 * The --url and --tenant flags of this command line, for the commands a hint suggests next:
 * without them those would go to the server and tenant `mms login` kept, where the job is not.
 */
export function sameTarget(options: GlobalOptions): string {
  return `${options.url ? ` --url ${options.url}` : ''}${options.tenant ? ` --tenant ${options.tenant}` : ''}`;
}

export function describeJob(job: BatchJobView, again = ''): string {
  const rows = job.progress?.rows;
  const parts = job.progress?.partitions;
  const facts: Array<[string, string]> = [
    ['Job', job.id],
    ['Status', `${job.status}${job.phase && job.phase !== job.status ? ` (${job.phase})` : ''}`],
    ['Rows', rows ? `${rows.done ?? 0}/${rows.total ?? '?'} done${rows.failed ? `, ${rows.failed} failed` : ''}` : ''],
    ['Partitions', parts ? `${parts.succeeded ?? 0}/${parts.total ?? '?'} succeeded${parts.failed ? `, ${parts.failed} failed` : ''}` : ''],
    ['Output', describeOutput(job.output)],
    ['Error', job.error ?? ''],
    ['Created', time(job.createdAt)],
    ['Finished', time(job.finishedAt ?? undefined)],
  ];
  let text = facts
    .filter(([, v]) => v)
    .map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`)
    .join('\n');
  text += '\n';
  text += describePartitionErrors(job, again);
  if (job.status === 'succeeded') text += `\nDownload: mms batch output ${job.id}${again} -o result.${outputExtension(job)}\n`;
  return text;
}

/**
 * The partitions that failed or left rows out: a partition can have succeeded and still have
 * refused some rows (a bad value), so the heading counts partitions *with failed rows*, the
 * STATUS column tells the two apart, and the rows' own reasons follow, a few per partition.
 */
function describePartitionErrors(job: BatchJobView, again: string): string {
  const errors = Array.isArray(job.errors) ? (job.errors as PartitionErrorView[]) : [];
  if (!errors.length) return '';
  const total = typeof job.errorsTotal === 'number' ? Math.max(job.errorsTotal, errors.length) : errors.length;
  const shown = errors.slice(0, PARTITIONS_SHOWN);
  let text = `\nPartitions with failed rows (${total}):\n`;
  text += table(
    ['PARTITION', 'ROUTE', 'MODEL', 'STATUS', 'ROWS FAILED', 'ERROR'],
    shown.map((e) => [
      str(e.partition),
      typeof e.route === 'object' && e.route ? labels(e.route as Record<string, string>) : str(e.route),
      e.model ? `${e.model}${e.version ? ` v${e.version}` : ''}` : '',
      str(e.status),
      str(e.rowsFailed),
      str(e.error ?? e.message) || (e.rows?.length ? 'rows refused, see below' : ''),
    ]),
  );
  if (total > shown.length) text += `… and ${total - shown.length} more partitions (mms batch show ${job.id}${again} --json, or the output's manifest.json)\n`;

  const reasons: Array<[string, string, string]> = [];
  const notes: string[] = [];
  for (const e of shown) {
    const listed = (e.rows ?? []).slice(0, ROW_REASONS_SHOWN);
    for (const r of listed) reasons.push([str(e.partition), str(r.row), str(r.message)]);
    const unlisted = (e.rowsFailed ?? 0) - listed.length;
    // Rows of a partition that failed as a whole share its ERROR; only refused rows have reasons of their own.
    if (listed.length && unlisted > 0) notes.push(`partition ${str(e.partition)}: ${unlisted} more failed row(s)`);
  }
  if (reasons.length) {
    text += `\nFailed rows (the first ${ROW_REASONS_SHOWN} of each partition; ROW: its number in the input, from 1):\n`;
    text += table(['PARTITION', 'ROW', 'REASON'], reasons);
    if (notes.length) text += `… ${notes.join('; ')} (more reasons with --json)\n`;
  }
  return text;
}

/** Exit codes of `batch submit --watch`, `batch watch` and `batch show` for a finished job (README "CLI"). */
export const BATCH_EXIT = { allRowsScored: 0, jobFailed: 1, someRowsFailed: 3 } as const;

/**
 * What a finished job tells a pipeline: 0 only when every row was scored; 3 when the job
 * succeeded (its output is committed) but some rows or partitions failed within errorThreshold;
 * 1 when it failed or was cancelled (no output). Undefined while it is still queued or running.
 */
export function jobOutcome(job: BatchJobView): { exitCode: number; message?: string } | undefined {
  if (!FINAL.has(job.status)) return undefined;
  if (job.status !== 'succeeded') return { exitCode: BATCH_EXIT.jobFailed, message: `Batch job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}` };
  const rows = job.progress?.rows;
  const failedRows = rows?.failed ?? 0;
  const failedPartitions = job.progress?.partitions?.failed ?? 0;
  const listed = typeof job.errorsTotal === 'number' ? job.errorsTotal : Array.isArray(job.errors) ? job.errors.length : 0;
  if (!failedRows && !failedPartitions && !listed) return { exitCode: BATCH_EXIT.allRowsScored };
  const what = failedRows ? `${failedRows} of ${rows?.total ?? '?'} rows failed` : `${failedPartitions || listed} partition(s) failed`;
  return { exitCode: BATCH_EXIT.someRowsFailed, message: `Batch job ${job.id} succeeded, but ${what}: the output leaves them out (exit ${BATCH_EXIT.someRowsFailed})` };
}

/** Ends the command with the job's outcome: nothing for a clean or unfinished job, else its exit code. */
function exitWithOutcome(job: BatchJobView): void {
  const outcome = jobOutcome(job);
  if (!outcome?.message) return;
  throw new CliError(outcome.message, outcome.exitCode, outcome.exitCode === BATCH_EXIT.someRowsFailed ? 'Warning' : 'Error');
}

function describeOutput(output: unknown): string {
  if (!output) return '';
  if (typeof output === 'string') return output;
  const o = output as Record<string, unknown>;
  const where = o.uri ?? o.path ?? o.location;
  const rows = o.rows !== undefined ? ` (${String(o.rows)} rows)` : '';
  return where ? `${String(where)}${rows}` : '';
}

function outputExtension(job: BatchJobView): string {
  const format = (job.output as { format?: unknown } | undefined)?.format;
  return typeof format === 'string' ? format : 'csv';
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
